//! The admin port: `GET /health` (liveness, with the lock connection's state
//! and the jobs this replica holds) and `GET /metrics` (Prometheus), over
//! hyper. Anything else is a JSON 404 or 405.

pub mod metrics;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use metrics::Metrics;

use crate::lock::Ownership;

/// What `/health` reports.
#[derive(Clone)]
pub struct Health {
    pub replica_id: String,
    pub ownership: watch::Receiver<Ownership>,
    pub metrics: Arc<Metrics>,
    pub database: bool,
}

/// Serves the admin routes on `listener` until `stop` fires.
pub async fn serve(listener: TcpListener, health: Health, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("admin accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = crate::stop::stopped(&mut stop) => return,
        };
        let health = health.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let health = health.clone();
                async move { Ok::<_, Infallible>(route(&request, &health)) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("admin connection ended with an error: {e}");
            }
        });
    }
}

fn route(request: &Request<Incoming>, health: &Health) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if !matches!(path, "/health" | "/metrics") {
        return error(StatusCode::NOT_FOUND, "route_not_found", "no such route");
    }
    if request.method() != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET is allowed",
        );
    }
    if path == "/metrics" {
        return respond(StatusCode::OK, "text/plain; version=0.0.4", health.metrics.render());
    }
    let ownership = health.ownership.borrow().clone();
    let body = serde_json::json!({
        "status": "ok",
        "replica_id": health.replica_id,
        "version": env!("CARGO_PKG_VERSION"),
        "database": if health.database { "postgres" } else { "memory" },
        "lock_connection": if ownership.epoch.is_some() { "up" } else { "down" },
        "jobs_owned": ownership.jobs,
    });
    respond(StatusCode::OK, "application/json", body.to_string())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    respond(status, "application/json", body.to_string())
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}
