//! A hyper server with a known behaviour: every `stall_every`-th request
//! (counted across all connections) waits `stall` before answering; every
//! answer has status `status`. `POST /things` answers 201 `{"id":"t-7"}`, for
//! setup requests that capture an id.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[derive(Clone, Copy)]
pub struct Behaviour {
    pub stall_every: u64,
    pub stall: Duration,
    pub status: u16,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            stall_every: 0,
            stall: Duration::ZERO,
            status: 200,
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub paths: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let seen = Arc::clone(&paths);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(listener, behaviour, seen, stopped));
        });
        Self {
            addr,
            paths,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    behaviour: Behaviour,
    paths: Arc<Mutex<Vec<String>>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
            _ = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let count = Arc::clone(&count);
        let paths = Arc::clone(&paths);
        connections.spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                let paths = Arc::clone(&paths);
                async move {
                    paths.lock().unwrap().push(request.uri().path().to_owned());
                    if request.uri().path() == "/things" {
                        let mut response = Response::new(Full::new(Bytes::from_static(br#"{"id":"t-7"}"#)));
                        *response.status_mut() = StatusCode::CREATED;
                        return Ok::<_, Infallible>(response);
                    }
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    if behaviour.stall_every > 0 && n.is_multiple_of(behaviour.stall_every) {
                        tokio::time::sleep(behaviour.stall).await;
                    }
                    let mut response = Response::new(Full::new(body));
                    *response.status_mut() = StatusCode::from_u16(behaviour.status).unwrap();
                    Ok(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    connections.shutdown().await;
}
