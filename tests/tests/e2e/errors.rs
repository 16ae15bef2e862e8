//! What a caller sees when something is wrong: the status that fits and the
//! one JSON error shape, never a crash.

use flexcore_tests::http::RawResponse;
use flexcore_tests::{TestGateway, assert_error, raw_request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_plugin_is_404_plugin_not_found() {
    let gw = TestGateway::start(|_| {}).await;
    let message = assert_error(gw.execute("nope", "x").await, 404, "plugin_not_found").await;
    assert!(message.contains("nope"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_is_404_route_not_found() {
    let gw = TestGateway::start(|_| {}).await;
    for path in ["/nope", "/health/", "/plugins/echo", "/plugins/echo/execute/more"] {
        assert_error(gw.get(path).await, 404, "route_not_found").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_is_405_with_allow() {
    let gw = TestGateway::start(|_| {}).await;
    let response = gw.get("/plugins/echo/execute").await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_error(response, 405, "method_not_allowed").await;

    let response = gw.client.delete(gw.url("/health")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_error(response, 405, "method_not_allowed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413() {
    let gw = TestGateway::start(|c| c.max_body_bytes = 1024).await;
    assert_eq!(gw.execute("echo", vec![b'a'; 1024]).await.status(), 200);
    let response = gw.execute("echo", vec![b'a'; 2000]).await;
    assert_error(response, 413, "payload_too_large").await;
    assert_eq!(gw.execute("echo", "still here").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_the_limit_is_413() {
    let gw = TestGateway::start(|c| c.max_body_bytes = 1024).await;
    // Within the limit, a chunked body without a content length is echoed.
    let small = raw_request(gw.addr, &chunked_echo(2, 400)).await;
    assert_eq!(small.status, 200);
    assert_eq!(small.body, vec![b'a'; 800]);

    let big = raw_request(gw.addr, &chunked_echo(4, 500)).await;
    big.assert_error(413, "payload_too_large");
    assert_eq!(gw.execute("echo", "still here").await.status(), 200);
}

/// A chunked `POST /plugins/echo/execute` of `chunks` chunks of `size` bytes.
fn chunked_echo(chunks: usize, size: usize) -> Vec<u8> {
    let mut request = b"POST /plugins/echo/execute HTTP/1.1\r\nhost: test\r\n\
        transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        .to_vec();
    for _ in 0..chunks {
        request.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        request.extend(std::iter::repeat_n(b'a', size));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_invalid_input() {
    let gw = TestGateway::start(|_| {}).await;
    for body in [r#"{"test_input": "#, "not json", ""] {
        let response = gw.execute("data-processor", body).await;
        assert_error(response, 400, "invalid_input").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_in_plugin_ids_are_404_and_harmless() {
    let gw = TestGateway::start(|_| {}).await;
    for id in [
        "..",
        ".",
        "%2e%2e",
        "..%2F..%2Fetc%2Fpasswd",
        "echo%2F..%2Ffaulty",
        "%2Fetc%2Fpasswd",
        "echo%00",
        "%00",
        "ECHO",
    ] {
        let request = format!(
            "POST /plugins/{id}/execute HTTP/1.1\r\nhost: test\r\n\
             content-length: 1\r\nconnection: close\r\n\r\nx"
        );
        let response: RawResponse = raw_request(gw.addr, request.as_bytes()).await;
        assert_eq!(response.status, 404, "id {id}");
        let code = response.json()["error"]["code"].clone();
        assert!(
            code == "plugin_not_found" || code == "route_not_found",
            "id {id}: {code}"
        );
        response.assert_error(404, code.as_str().unwrap());
    }
    let traversal = b"POST /plugins/../../../etc/passwd/execute HTTP/1.1\r\n\
        host: test\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    raw_request(gw.addr, traversal)
        .await
        .assert_error(404, "route_not_found");

    assert_eq!(gw.get("/health").await.status(), 200);
    assert_eq!(gw.execute("echo", "x").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_errors_map_to_their_status() {
    let gw = TestGateway::start(|_| {}).await;
    for (command, status, code) in [
        ("error", 500, "plugin_failed"),
        ("invalid", 400, "invalid_input"),
        ("unavailable", 503, "plugin_unavailable"),
    ] {
        let message = assert_error(gw.execute("faulty", command).await, status, code).await;
        assert!(message.contains("faulty"), "{command}: {message}");
    }
    // A failed call leaves the plugin serving.
    let response = gw.execute("faulty", "hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "hello");
}
