//! Ports for the servers a test starts as processes (the gateway binary,
//! nginx, `redis-server`, a private PostgreSQL), which cannot be handed a
//! bound listener the way the in-process gateway is.
//!
//! A free port is found by binding `127.0.0.1:0` and releasing it, so another
//! process may take it before the server binds it: [`on_free_port`] tries
//! again on another port when that happens.

/// How many ports [`on_free_port`] tries.
const TRIES: usize = 3;

/// A loopback port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts a server on a free port: `start(port)` gives `Some` once the server
/// serves there, `None` when the port was taken meanwhile (it panics itself
/// on any other failure). `None` when every one of the tries found its port
/// taken.
pub async fn on_free_port<T>(mut start: impl AsyncFnMut(u16) -> Option<T>) -> Option<T> {
    for _attempt in 0..TRIES {
        if let Some(started) = start(free_port()).await {
            return Some(started);
        }
    }
    None
}
