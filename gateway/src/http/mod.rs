//! The HTTP edge: the accept loop, the tower stack, routing and handlers.
//!
//! - [`server`]: accepts connections, serves HTTP/1.1 keep-alive through
//!   hyper, drains on shutdown;
//! - [`stack`]: the tower layers every request passes, built in one place;
//! - [`request_id`]: the layer that tags requests and responses;
//! - [`router`]: path and method to a [`router::Route`];
//! - [`handlers`]: one function per route; errors go to
//!   [`Error::into_response`](crate::Error::into_response), the only place
//!   errors become statuses;
//! - [`auth`]: bearer tokens;
//! - [`respond`] and [`body`]: building responses, reading bodies.
//!
//! Feature-specific handlers live with their feature (e.g.
//! `pipelines::http`); this module owns only the edge.

pub(crate) mod auth;
pub(crate) mod body;
mod handlers;
pub(crate) mod request_id;
pub(crate) mod respond;
mod router;
pub mod server;
pub mod stack;

pub use auth::Auth;
pub use stack::GatewayService;

/// The response body type of every route.
pub type Body = http_body_util::Full<bytes::Bytes>;

/// What the stack accepts as a request body: hyper's `Incoming` on a real
/// connection, or any other body (benchmarks drive the stack without a socket).
pub trait RequestBody: http_body::Body<Data = bytes::Bytes, Error = Self::BodyError> + Send + 'static {
    type BodyError: std::error::Error + Send + Sync + 'static;
}

impl<B> RequestBody for B
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type BodyError = B::Error;
}
