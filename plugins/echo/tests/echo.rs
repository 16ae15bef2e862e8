//! Calls the plugin function directly, as the host would through the ABI.

use flexcore_abi::RequestBuf;

#[test]
fn returns_the_body_and_content_type_it_was_given() {
    let req = RequestBuf::new(b"hello \xff world", "text/plain", "req-1");
    let resp = echo::echo(&req).unwrap();
    assert_eq!(resp.body(), b"hello \xff world");
    assert_eq!(resp.content_type(), "text/plain");
}

#[test]
fn an_empty_request_gives_an_empty_response() {
    let req = RequestBuf::new(b"", "", "req-2");
    let resp = echo::echo(&req).unwrap();
    assert!(resp.body().is_empty());
    assert_eq!(resp.content_type(), "");
}
