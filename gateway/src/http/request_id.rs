//! Tags every request with an id and every response with that id, the node
//! that served it and how long it took.
//!
//! A caller's `x-request-id` is kept when it is sane (visible ASCII, at most
//! 128 bytes); otherwise a fresh one is made. The id is written back into the
//! request's headers so that handlers and plugins see the same value.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderName, HeaderValue, Request, Response};
use tower::{Layer, Service};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_NODE: HeaderName = HeaderName::from_static("x-flexcore-node");
pub const X_DURATION_US: HeaderName = HeaderName::from_static("x-flexcore-duration-us");

/// Makes request ids: a per-process random prefix and a counter.
#[derive(Debug)]
struct IdMaker {
    prefix: String,
    next: AtomicU64,
}

impl IdMaker {
    fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        let seed = RandomState::new().hash_one((std::process::id(), Instant::now()));
        Self {
            prefix: format!("{:08x}", seed as u32),
            next: AtomicU64::new(1),
        }
    }

    fn make(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("{}-{n:x}", self.prefix)).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    }
}

#[derive(Debug, Clone)]
pub struct RequestIdLayer {
    ids: Arc<IdMaker>,
    node: HeaderValue,
}

impl RequestIdLayer {
    pub fn new(node_id: &str) -> Self {
        let node = HeaderValue::try_from(node_id).unwrap_or_else(|_| HeaderValue::from_static("invalid-node-id"));
        Self {
            ids: Arc::new(IdMaker::new()),
            node,
        }
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
    layer: RequestIdLayer,
}

impl<S, B, RB> Service<Request<B>> for RequestIdService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let id = match request.headers().get(&X_REQUEST_ID) {
            Some(id) if sane(id) => id.clone(),
            _ => {
                let id = self.layer.ids.make();
                request.headers_mut().insert(X_REQUEST_ID, id.clone());
                id
            }
        };
        let node = self.layer.node.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            let headers = response.headers_mut();
            headers.insert(X_REQUEST_ID, id);
            headers.insert(X_NODE, node);
            headers.insert(X_DURATION_US, HeaderValue::from(started.elapsed().as_micros() as u64));
            Ok(response)
        })
    }
}

fn sane(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(u8::is_ascii_graphic)
}
