//! What tests check about HTTP responses: the one JSON error shape
//! (`{"error":{"code","message"}}`), and raw requests, for paths and framings
//! an HTTP client library would normalise away (`..` segments, chunked
//! bodies written by hand).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Checks that `body` is exactly `{"error":{"code":code,"message":<non-empty>}}`
/// and returns the message.
pub fn check_error_body(body: &Value, code: &str) -> String {
    let top = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert_eq!(top.len(), 1, "error body has other keys than `error`: {body}");
    let error = top["error"]
        .as_object()
        .unwrap_or_else(|| panic!("`error` is not an object: {body}"));
    assert_eq!(error.len(), 2, "`error` has other keys: {body}");
    assert_eq!(error["code"], code, "error code of {body}");
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("`error.message` is not a string: {body}"));
    assert!(!message.is_empty(), "empty error message: {body}");
    message.to_owned()
}

/// Checks an error response: its status, a JSON content type, the error shape
/// and code. Returns the message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> String {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "status of a response whose body is {text}");
    assert_eq!(content_type.as_deref(), Some("application/json"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {text}"));
    check_error_body(&body, code)
}

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// As [`assert_error`], for a raw response.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status, status, "status of a response whose body is {text}");
        assert_eq!(self.header("content-type"), Some("application/json"), "{text}");
        check_error_body(&self.json(), code)
    }
}

/// Writes `request` (a whole HTTP/1.1 request, which should say
/// `Connection: close`) to `addr` as it is, and reads the response until the
/// server closes; at most 5 s. The server may answer before reading all of
/// the request (a body over the limit), so a failed write is not an error.
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = stream.write_all(request).await;
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received).await;
        received
    };
    let received = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("the server answered within 5 s and closed the connection");
    parse_response(&received)
}

fn parse_response(received: &[u8]) -> RawResponse {
    let split = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response head in {:?}", String::from_utf8_lossy(received)));
    let head = std::str::from_utf8(&received[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: received[split + 4..].to_vec(),
    }
}
