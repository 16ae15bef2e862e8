//! [`WindmillError`]: why a Windmill call failed, by what the caller can do
//! about it.

/// Why a Windmill call failed. Bodies are truncated; the token never appears.
#[derive(Debug, thiserror::Error)]
pub enum WindmillError {
    /// No answer: connection refused or reset, DNS, or the request timed out.
    #[error("windmill is unreachable: {0}")]
    Unreachable(String),
    /// 401: the token is missing, wrong or expired.
    #[error("windmill refused the token (401)")]
    Unauthorized,
    /// 403: the token may not do this.
    #[error("windmill forbids this: {0}")]
    Forbidden(String),
    /// 404: no such job, script, flow or workspace.
    #[error("windmill does not know it: {0}")]
    NotFound(String),
    /// 400: Windmill refused the request (other than the cases the client
    /// turns into success, such as a job id that already exists).
    #[error("windmill refused the request: {0}")]
    BadRequest(String),
    /// Any other status, 5xx included.
    #[error("windmill answered {status}: {body}")]
    Status { status: u16, body: String },
    /// The answer was not what the API promises.
    #[error("unexpected answer from windmill: {0}")]
    Decode(String),
    /// The client cannot be built from these settings.
    #[error("invalid windmill settings: {0}")]
    Settings(String),
    /// A job did not complete within the time the caller allowed.
    #[error("windmill job {id} did not complete within {waited_ms} ms")]
    Timeout { id: uuid::Uuid, waited_ms: u128 },
}

impl WindmillError {
    /// Whether trying the same call later may succeed: Windmill unreachable,
    /// or a server-side error (5xx, which includes a full queue).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl From<reqwest::Error> for WindmillError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            Self::Decode(e.to_string())
        } else {
            // Connect, timeout, body and redirect errors all mean "no usable
            // answer"; reqwest's text names the URL, never the headers.
            Self::Unreachable(e.to_string())
        }
    }
}
