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

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Makes request ids: a per-process random prefix and a counter.
#[derive(Debug)]
struct IdMaker {
    prefix: [u8; 8],
    next: AtomicU64,
}

impl IdMaker {
    fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        let seed = RandomState::new().hash_one((std::process::id(), Instant::now()));
        let mut prefix = [0u8; 8];
        for (i, digit) in prefix.iter_mut().enumerate() {
            *digit = HEX[((seed >> (4 * (7 - i))) & 0xf) as usize];
        }
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    fn make(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // `{prefix}-{n:x}` without a formatter: this runs on every request.
        let mut id = [0u8; 8 + 1 + 16];
        id[..8].copy_from_slice(&self.prefix);
        id[8] = b'-';
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
        for i in 0..digits {
            id[9 + i] = HEX[((n >> (4 * (digits - 1 - i))) & 0xf) as usize];
        }
        HeaderValue::from_bytes(&id[..9 + digits]).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
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
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Tagged<S::Future>;

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
        Tagged {
            inner: self.inner.call(request),
            tags: Some((id, self.layer.node.clone(), started)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner response future, tagging the response when it is ready
    /// (a named future rather than a boxed one: no allocation per request).
    pub struct Tagged<F> {
        #[pin]
        inner: F,
        tags: Option<(HeaderValue, HeaderValue, Instant)>,
    }
}

impl<F, RB, E> Future for Tagged<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some((id, node, started)) = this.tags.take() {
            let headers = response.headers_mut();
            headers.insert(X_REQUEST_ID, id);
            headers.insert(X_NODE, node);
            headers.insert(X_DURATION_US, HeaderValue::from(started.elapsed().as_micros() as u64));
        }
        Poll::Ready(Ok(response))
    }
}

fn sane(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(u8::is_ascii_graphic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_a_prefix_and_a_hex_counter() {
        let ids = IdMaker::new();
        let first = ids.make();
        let first = first.to_str().unwrap();
        assert_eq!(first.len(), 10);
        assert!(first.ends_with("-1"), "{first}");
        ids.next.store(0xabc_def, Ordering::Relaxed);
        let later = ids.make();
        assert_eq!(&later.to_str().unwrap()[8..], "-abcdef");
        ids.next.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(&ids.make().to_str().unwrap()[8..], "-ffffffffffffffff");
    }
}
