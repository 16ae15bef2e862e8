//! The gateway's one error type, and the one place where errors become HTTP
//! statuses and `{"error":{"code","message"}}` bodies.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;

use crate::pipelines::RuleViolation;
use crate::storage::StoreError;

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
    /// The plugin said so (its status), or is restarting or being replaced.
    #[error("plugin '{plugin}' is unavailable: {message}")]
    Unavailable { plugin: String, message: String },
    /// A part of the gateway cannot take the request now: the event queue is
    /// full, or Redis does not answer.
    #[error("service '{service}' is unavailable: {message}")]
    ServiceUnavailable { service: &'static str, message: String },
    #[error("plugin '{plugin}' failed: {message}")]
    PluginFailed { plugin: String, message: String },
    #[error("plugin '{plugin}' panicked: {message}")]
    PluginPanicked { plugin: String, message: String },
    #[error("plugin '{plugin}' did not answer within {timeout_ms} ms")]
    Timeout { plugin: String, timeout_ms: u128 },
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("no pipeline with id '{0}'")]
    PipelineNotFound(String),
    #[error("no subscription with id '{0}'")]
    SubscriptionNotFound(String),
    #[error("{0}")]
    Rule(#[from] RuleViolation),
    #[error("a pipeline named '{0}' already exists")]
    NameTaken(String),
    /// `actual` is the version the pipeline was seen at, when it could be read.
    #[error("version conflict: expected version {expected}{}", at_version(.actual))]
    VersionConflict { expected: u64, actual: Option<u64> },
    #[error("step {index} ({plugin}) failed: {cause}")]
    StepFailed {
        index: usize,
        plugin: String,
        execution_id: uuid::Uuid,
        cause: Box<Error>,
    },
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(String),
    #[error("storage error: {0}")]
    Storage(String),
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
            Self::Unavailable { .. } | Self::ServiceUnavailable { .. } | Self::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PipelineNotFound(_) | Self::SubscriptionNotFound(_) => StatusCode::NOT_FOUND,
            Self::Rule(RuleViolation::NoSuchStep { .. }) => StatusCode::NOT_FOUND,
            Self::Rule(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NameTaken(_) | Self::VersionConflict { .. } => StatusCode::CONFLICT,
            Self::StepFailed { cause, .. } => cause.status(),
            Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            Self::ServiceUnavailable { .. } => "service_unavailable",
            Self::PluginFailed { .. } => "plugin_failed",
            Self::PluginPanicked { .. } => "plugin_panicked",
            Self::Timeout { .. } => "deadline_exceeded",
            Self::BadRequest(_) => "invalid_request",
            Self::PipelineNotFound(_) => "pipeline_not_found",
            Self::SubscriptionNotFound(_) => "subscription_not_found",
            Self::Rule(rule) => rule.rule(),
            Self::NameTaken(_) => "name_taken",
            Self::VersionConflict { .. } => "version_conflict",
            Self::StepFailed { .. } => "pipeline_step_failed",
            Self::DatabaseUnavailable(_) => "database_unavailable",
            Self::Storage(_) => "storage_error",
            Self::Internal(_) | Self::Config(_) | Self::Io(_) => "internal",
        }
    }

    /// The HTTP response a caller sees for this error.
    pub fn into_response(self) -> http::Response<Full<Bytes>> {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), error = %self, "request failed");
        }
        let mut error = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        if let Self::StepFailed {
            index,
            plugin,
            execution_id,
            cause,
        } = &self
        {
            error["step"] = (*index).into();
            error["plugin"] = plugin.as_str().into();
            error["execution_id"] = execution_id.to_string().into();
            error["cause"] = cause.code().into();
        }
        let body = serde_json::json!({ "error": error });
        let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
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

/// The end of a version conflict's message: where the pipeline is, if known.
fn at_version(actual: &Option<u64>) -> String {
    actual.map_or_else(String::new, |v| format!(", the pipeline is at version {v}"))
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken(name) => Self::NameTaken(name),
            StoreError::VersionConflict { expected } => Self::VersionConflict { expected, actual: None },
            StoreError::Unavailable(message) => Self::DatabaseUnavailable(message),
            StoreError::Other(message) => Self::Storage(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_conflict_names_only_the_versions_it_knows() {
        let unknown = Error::from(StoreError::VersionConflict { expected: 4 });
        assert_eq!(unknown.to_string(), "version conflict: expected version 4");
        let known = Error::VersionConflict {
            expected: 4,
            actual: Some(6),
        };
        assert_eq!(
            known.to_string(),
            "version conflict: expected version 4, the pipeline is at version 6"
        );
        assert_eq!(
            (known.status(), known.code()),
            (StatusCode::CONFLICT, "version_conflict")
        );
    }

    #[test]
    fn a_service_that_cannot_take_a_request_is_not_a_plugin() {
        let full = Error::ServiceUnavailable {
            service: "events",
            message: "the event queue is full; try again later".into(),
        };
        assert_eq!(
            (full.status(), full.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
        );
        assert!(!full.to_string().contains("plugin"), "{full}");
    }
}
