//! A plugin that misbehaves on command, for testing how the gateway copes.
//!
//! The request body is a plain-text command (surrounding whitespace ignored):
//!
//! | body          | outcome                                             |
//! |---------------|-----------------------------------------------------|
//! | `panic`       | panics (the SDK reports `Status::Panic`)            |
//! | `error`       | `PluginError::internal` (HTTP 500)                  |
//! | `invalid`     | `PluginError::invalid_input` (HTTP 400)             |
//! | `unavailable` | `PluginError::unavailable` (HTTP 503)               |
//! | `sleep <ms>`  | blocks the calling thread, then answers `slept <ms>` |
//! | `config`      | answers the call's settings (ABI 1.1), as JSON text  |
//! | anything else | echoes the body and its content type                |
//!
//! It declares `may_block`, since `sleep` does.
#![deny(unsafe_code)]

use std::time::Duration;

use flexcore_abi::{PluginError, Request, Response};

flexcore_abi::export_plugin!(
    name = "faulty",
    version = "1.0.0",
    description = "Fails, panics or sleeps on command; for gateway tests",
    may_block = true,
    invoke = faulty,
);

pub fn faulty(req: &Request) -> Result<Response<'_>, PluginError> {
    let command = std::str::from_utf8(req.body()).unwrap_or_default().trim();
    match command {
        "panic" => panic!("faulty: asked to panic"),
        "error" => Err(PluginError::internal("faulty: asked to fail")),
        "invalid" => Err(PluginError::invalid_input("faulty: asked to reject the input")),
        "config" => Ok(Response::bytes(req.config()).with_content_type("application/json")),
        "unavailable" => Err(PluginError::unavailable("faulty: asked to be unavailable")),
        _ => match command.strip_prefix("sleep ") {
            Some(ms) => sleep(ms.trim()),
            None => Ok(Response::bytes(req.body()).with_content_type(req.content_type())),
        },
    }
}

fn sleep(ms: &str) -> Result<Response<'static>, PluginError> {
    let millis: u64 = ms
        .parse()
        .map_err(|_| PluginError::invalid_input(format!("faulty: `sleep` wants milliseconds, got {ms:?}")))?;
    std::thread::sleep(Duration::from_millis(millis));
    Ok(Response::bytes(format!("slept {millis}")).with_content_type("text/plain"))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use flexcore_abi::{RequestBuf, Status};

    use super::*;

    /// Calls the plugin with a text command and returns the response body.
    fn call(body: &str) -> Result<Vec<u8>, PluginError> {
        let req = RequestBuf::new(body.as_bytes(), "text/plain", "test");
        faulty(&req).map(|r| r.body().to_vec())
    }

    #[test]
    fn error_commands_give_their_status() {
        for (body, status) in [
            ("error", Status::Internal),
            ("invalid", Status::InvalidInput),
            ("unavailable\n", Status::Unavailable),
            ("sleep soon", Status::InvalidInput),
        ] {
            assert_eq!(call(body).unwrap_err().status(), status, "{body}");
        }
        assert_eq!(call("error").unwrap_err().message(), "faulty: asked to fail");
    }

    #[test]
    #[should_panic(expected = "faulty: asked to panic")]
    fn panic_panics() {
        let _ = call("panic");
    }

    #[test]
    fn sleep_blocks_for_the_time_asked() {
        let start = Instant::now();
        let body = call("sleep 50").unwrap();
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(body, b"slept 50");
    }

    #[test]
    fn anything_else_is_echoed() {
        let req = RequestBuf::new(b"hello", "text/x-greeting", "test");
        let resp = faulty(&req).unwrap();
        assert_eq!(resp.body(), b"hello");
        assert_eq!(resp.content_type(), "text/x-greeting");
    }
}
