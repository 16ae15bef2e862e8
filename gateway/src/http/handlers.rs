//! One function per route. Each returns `Result<Response, Error>`; the router
//! turns errors into responses in one place.

use std::sync::Arc;

use super::auth::Scope;
use super::request_id::X_REQUEST_ID;
use super::router::{self, Route};
use super::{Body, RequestBody, respond};
use crate::Error;
use crate::events;
use crate::host::Invocation;
use crate::pipelines::{self, service::Change};
use crate::state::AppState;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};

pub async fn handle<B: RequestBody>(state: Arc<AppState>, request: Request<B>) -> Result<Response<Body>, Error> {
    let (parts, body) = request.into_parts();
    match router::route(&parts.method, parts.uri.path())? {
        Route::Execute(plugin) => execute(&state, plugin, &parts, body).await,
        // Boxed, so that the hot route's future (and the move of it into the
        // stack's box) stays small; these routes are not on the hot path.
        route => Box::pin(other(&state, route, &parts, body)).await,
    }
}

async fn other<B: RequestBody>(
    state: &AppState,
    route: Route<'_>,
    parts: &http::request::Parts,
    body: B,
) -> Result<Response<Body>, Error> {
    match route {
        Route::Execute(plugin) => execute(state, plugin, parts, body).await,
        Route::Health => respond::ok(&state.health()),
        Route::Info => respond::ok(&state.info()),
        Route::ListPlugins => respond::ok(&state.plugins()),
        Route::Metrics => {
            state.metrics.in_flight.set(state.host.in_flight() as i64);
            let mut response = Response::new(Body::new(Bytes::from(state.metrics.render())));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(response)
        }
        Route::Reload => {
            state.auth.require(&parts.headers, Scope::Admin)?;
            respond::ok(&state.reload_plugins().await?)
        }
        Route::ListPipelines => pipelines::http::list(state, parts).await,
        Route::CreatePipeline => pipelines::http::create(state, parts, body).await,
        Route::GetPipeline(id) => pipelines::http::get(state, id).await,
        Route::AddStep(id) => pipelines::http::add_step(state, id, parts, body).await,
        Route::RemoveStep(id, index) => pipelines::http::remove_step(state, id, index, parts).await,
        Route::Activate(id) => pipelines::http::change(state, id, parts, Change::Activate).await,
        Route::Archive(id) => pipelines::http::change(state, id, parts, Change::Archive).await,
        Route::ExecutePipeline(id) => pipelines::http::execute(state, id, parts, body).await,
        Route::ListExecutions(id) => pipelines::http::executions(state, id, parts).await,
        Route::Cluster => respond::ok(&state.cluster_view().await?),
        Route::PublishEvent => events::http::publish(state, parts, body).await,
        Route::DeadLetters => events::http::dead_letters(state, parts).await,
        Route::ListSubscriptions => events::http::list(state).await,
        Route::Subscribe => events::http::subscribe(state, parts, body).await,
        Route::Unsubscribe(id) => events::http::unsubscribe(state, id, parts).await,
    }
}

/// `POST /plugins/{id}/execute`: the body in, the plugin's output out.
async fn execute<B: RequestBody>(
    state: &AppState,
    plugin: &str,
    parts: &http::request::Parts,
    body: B,
) -> Result<Response<Body>, Error> {
    state.auth.require(&parts.headers, Scope::Invoke)?;
    if !flexcore_abi::valid_plugin_name(plugin) {
        return Err(Error::PluginNotFound(plugin.to_owned()));
    }
    let body = super::body::read(&parts.headers, body, state.config.max_body_bytes).await?;
    let call = Invocation {
        body,
        content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
        request_id: parts
            .headers
            .get(X_REQUEST_ID)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("")),
        config: None,
    };
    let output = state.host.invoke(plugin, call).await?;
    let mut response = Response::new(Body::new(output.body));
    response.headers_mut().insert(header::CONTENT_TYPE, output.content_type);
    Ok(response)
}
