//! One function per route. Each returns `Result<Response, Error>`; the router
//! turns errors into responses in one place.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use serde::Serialize;

use super::auth::Scope;
use super::request_id::X_REQUEST_ID;
use super::router::{self, Route};
use super::{Body, RequestBody};
use crate::Error;
use crate::host::Invocation;
use crate::state::AppState;

pub async fn handle<B: RequestBody>(
    state: Arc<AppState>,
    request: Request<B>,
) -> Result<Response<Body>, Error> {
    let (parts, body) = request.into_parts();
    match router::route(&parts.method, parts.uri.path())? {
        Route::Execute(plugin) => execute(&state, plugin, &parts, body).await,
        Route::Health => json(&state.health()),
        Route::Info => json(&state.info()),
        Route::ListPlugins => json(&state.plugins()),
        Route::Metrics => {
            let mut response = Response::new(Body::new(Bytes::from(state.metrics.render())));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(response)
        }
        Route::Reload => {
            state.auth.require(&parts.headers, Scope::Admin)?;
            json(&state.host.reload().await?)
        }
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
    };
    let output = state.host.invoke(plugin, call).await?;
    let mut response = Response::new(Body::new(output.body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, output.content_type);
    Ok(response)
}

fn json(value: &impl Serialize) -> Result<Response<Body>, Error> {
    let body = serde_json::to_vec(value)
        .map_err(|e| Error::Internal(format!("cannot serialise response: {e}")))?;
    let mut response = Response::new(Body::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
