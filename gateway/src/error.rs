//! The gateway's one error type, and the one place where errors become HTTP
//! statuses and `{"error":{"code","message"}}` bodies.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;

/// Everything that can go wrong while serving a request or starting up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: &'static str },
    #[error("no plugin named '{0}' is loaded")]
    PluginNotFound(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    BadBody(String),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0}")]
    InvalidInput(String),
    #[error("plugin '{plugin}' is unavailable: {message}")]
    Unavailable { plugin: String, message: String },
    #[error("plugin '{plugin}' failed: {message}")]
    PluginFailed { plugin: String, message: String },
    #[error("plugin '{plugin}' panicked: {message}")]
    PluginPanicked { plugin: String, message: String },
    #[error("plugin '{plugin}' did not answer within {timeout_ms} ms")]
    Timeout { plugin: String, timeout_ms: u128 },
    #[error("the gateway is shutting down")]
    ShuttingDown,
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Config(#[from] flexcore_infra::ConfigError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::RouteNotFound(_) | Self::PluginNotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadBody(_) | Self::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Unavailable { .. } | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::PluginFailed { .. }
            | Self::PluginPanicked { .. }
            | Self::Internal(_)
            | Self::Config(_)
            | Self::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable code for the `error.code` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RouteNotFound(_) => "route_not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PluginNotFound(_) => "plugin_not_found",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BadBody(_) => "bad_request_body",
            Self::Unauthorized => "unauthorized",
            Self::InvalidInput(_) => "invalid_input",
            Self::Unavailable { .. } => "plugin_unavailable",
            Self::PluginFailed { .. } => "plugin_failed",
            Self::PluginPanicked { .. } => "plugin_panicked",
            Self::Timeout { .. } => "deadline_exceeded",
            Self::ShuttingDown => "shutting_down",
            Self::Internal(_) | Self::Config(_) | Self::Io(_) => "internal",
        }
    }

    /// The HTTP response a caller sees for this error.
    pub fn into_response(self) -> http::Response<Full<Bytes>> {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), error = %self, "request failed");
        }
        let body =
            serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } });
        let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        match self {
            Self::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
