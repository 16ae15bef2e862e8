//! The tower stack every request passes, built in one function.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Service, ServiceBuilder};

use super::handlers;
use super::request_id::{RequestIdLayer, RequestIdService};
use super::{Body, RequestBody};
use crate::state::AppState;

/// The whole gateway as one tower service.
pub type GatewayService = RequestIdService<Router>;

/// Builds the stack, outermost layer first.
pub fn build(state: Arc<AppState>) -> GatewayService {
    ServiceBuilder::new()
        // Outermost, so its duration header covers everything below it and
        // every response, errors included, carries the id and the node.
        .layer(RequestIdLayer::new(&state.node_id))
        // Routing, auth, body limits and handlers; errors become responses
        // inside it, in `Error::into_response`, so nothing below fails the
        // connection.
        .service(Router { state })
}

/// Dispatches to the handlers.
#[derive(Clone)]
pub struct Router {
    state: Arc<AppState>,
}

impl<B: RequestBody> Service<Request<B>> for Router {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            Ok(handlers::handle(state, request)
                .await
                .unwrap_or_else(crate::Error::into_response))
        })
    }
}
