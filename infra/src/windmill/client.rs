//! [`WindmillClient`]: one method per Windmill call FlexCore makes.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use super::error::WindmillError;
use super::types::{Completion, Created, Job, NewFlow, NewScript, ResultMaybe, Runnable, Submitted};
use crate::Secret;

/// Where Windmill is and how to talk to it.
#[derive(Debug, Clone)]
pub struct WindmillSettings {
    /// The server, e.g. `http://127.0.0.1:8000`; `/api` is added here.
    pub base_url: String,
    pub token: Secret,
    pub workspace: String,
    /// Bound on each HTTP request (not on how long a job may run).
    pub request_timeout: Duration,
}

/// How long to wait between polls: from `initial`, doubling, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 100 ms, 200 ms, 400 ms, ... up to 2 s: a short job is seen finished
    /// quickly, a long one costs one request every 2 s.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

/// Longest error body kept in an error.
const MAX_ERROR_BODY: usize = 500;

/// A Windmill client for one workspace. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WindmillClient {
    http: reqwest::Client,
    api: String,
    workspace: String,
    token: Secret,
}

impl WindmillClient {
    pub fn new(settings: &WindmillSettings) -> Result<Self, WindmillError> {
        let base = settings.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(WindmillError::Settings(format!(
                "base_url `{base}` must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(3)))
            .build()
            .map_err(|e| WindmillError::Settings(e.to_string()))?;
        Ok(Self {
            http,
            api: format!("{base}/api"),
            workspace: settings.workspace.clone(),
            token: settings.token.clone(),
        })
    }

    /// `GET /api/version` (no auth): the server's version text, e.g.
    /// `CE v1.520.1`. Windmill has no health route; this is the one to use.
    pub async fn version(&self) -> Result<String, WindmillError> {
        let response = self.http.get(format!("{}/version", self.api)).send().await?;
        Ok(text_of(response).await?.trim().to_owned())
    }

    /// Starts `runnable` with `args` under `job_id`. A job id Windmill already
    /// has (a resubmission after a crash) counts as accepted.
    pub async fn run(&self, runnable: &Runnable, args: &Value, job_id: Uuid) -> Result<Submitted, WindmillError> {
        let url = self.workspace_url(&format!("jobs/run/{}", runnable.route()));
        let response = self
            .request(Method::POST, url)
            .query(&[("job_id", job_id.to_string())])
            .json(args)
            .send()
            .await?;
        match text_of(response).await {
            Ok(text) => {
                let id = text.trim().trim_matches('"');
                let id = Uuid::parse_str(id).map_err(|e| WindmillError::Decode(format!("job id `{id}`: {e}")))?;
                Ok(Submitted {
                    id,
                    already_existed: false,
                })
            }
            // Windmill signals a duplicate job id only by this text in a 400
            // (API.md); it is the documented contract, so it is matched here,
            // in this one place.
            Err(WindmillError::BadRequest(text)) if text.to_ascii_lowercase().contains("already exists") => {
                Ok(Submitted {
                    id: job_id,
                    already_existed: true,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// `get_result_maybe`: whether the job completed, and how.
    pub async fn result_maybe(&self, id: Uuid) -> Result<ResultMaybe, WindmillError> {
        let url = self.workspace_url(&format!("jobs_u/completed/get_result_maybe/{id}"));
        let response = self
            .request(Method::GET, url)
            .query(&[("get_started", "true")])
            .send()
            .await?;
        json_of(response).await
    }

    /// The whole job: queued, running or completed.
    pub async fn job(&self, id: Uuid) -> Result<Job, WindmillError> {
        let url = self.workspace_url(&format!("jobs_u/get/{id}"));
        let response = self
            .request(Method::GET, url)
            .query(&[("no_logs", "true")])
            .send()
            .await?;
        json_of(response).await
    }

    /// Polls [`result_maybe`](Self::result_maybe) with `backoff` until the job
    /// completes, or fails with [`WindmillError::Timeout`] after `within`.
    /// Windmill being unreachable for a while is waited out, not an error.
    pub async fn wait(&self, id: Uuid, within: Duration, backoff: Backoff) -> Result<Completion, WindmillError> {
        let started = tokio::time::Instant::now();
        let deadline = started + within;
        let mut delay = backoff.initial;
        loop {
            match self.result_maybe(id).await {
                Ok(ResultMaybe {
                    completed: true,
                    success,
                    result,
                    ..
                }) => {
                    return Ok(Completion {
                        success: success.unwrap_or(false),
                        result: result.unwrap_or(Value::Null),
                    });
                }
                Ok(_) => {}
                Err(e) if e.is_transient() => {
                    tracing::debug!(%id, "polling windmill failed, will retry: {e}");
                }
                Err(e) => return Err(e),
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(WindmillError::Timeout {
                    id,
                    waited_ms: now.duration_since(started).as_millis(),
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(backoff.max);
        }
    }

    /// Cancels a queued or running job; `Ok` also when it had completed.
    pub async fn cancel(&self, id: Uuid, reason: &str) -> Result<String, WindmillError> {
        let url = self.workspace_url(&format!("jobs_u/queue/cancel/{id}"));
        let response = self
            .request(Method::POST, url)
            .json(&serde_json::json!({ "reason": reason }))
            .send()
            .await?;
        Ok(text_of(response).await?.trim().to_owned())
    }

    /// The current hash of the script at `path`, or `None` when there is none.
    pub async fn script_hash(&self, path: &str) -> Result<Option<String>, WindmillError> {
        let url = self.workspace_url(&format!("scripts/get/p/{path}"));
        let response = self.request(Method::GET, url).send().await?;
        match json_of::<Value>(response).await {
            Ok(script) => match script.get("hash") {
                Some(Value::String(hash)) => Ok(Some(hash.clone())),
                Some(Value::Number(hash)) => Ok(Some(hash.to_string())),
                _ => Err(WindmillError::Decode(format!("script {path} has no hash"))),
            },
            Err(WindmillError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the script unless one exists at its path (an existing one is
    /// left as it is: scripts are immutable versions).
    pub async fn ensure_script(&self, script: &NewScript) -> Result<Created, WindmillError> {
        if self.script_hash(&script.path).await?.is_some() {
            return Ok(Created::Existing);
        }
        let url = self.workspace_url("scripts/create");
        let response = self.request(Method::POST, url).json(script).send().await?;
        match text_of(response).await {
            Ok(hash) => Ok(Created::New(hash.trim().to_owned())),
            // Someone created it between our get and our create ("Path
            // conflict", or the same content's hash): it exists.
            Err(WindmillError::BadRequest(_)) => Ok(Created::Existing),
            Err(e) => Err(e),
        }
    }

    /// Creates the flow unless one exists at its path (Windmill answers 400
    /// for an existing path; the existing flow is left as it is).
    pub async fn ensure_flow(&self, flow: &NewFlow) -> Result<Created, WindmillError> {
        let url = self.workspace_url("flows/create");
        let response = self.request(Method::POST, url).json(flow).send().await?;
        match text_of(response).await {
            Ok(path) => Ok(Created::New(path.trim().to_owned())),
            Err(WindmillError::BadRequest(_)) => Ok(Created::Existing),
            Err(e) => Err(e),
        }
    }

    fn workspace_url(&self, route: &str) -> String {
        format!("{}/w/{}/{route}", self.api, self.workspace)
    }

    fn request(&self, method: Method, url: String) -> RequestBuilder {
        // `bearer_auth` marks the header sensitive, so it is never logged.
        self.http.request(method, url).bearer_auth(self.token.expose())
    }
}

/// The body of a 2xx answer as text, or the error its status means.
async fn text_of(response: Response) -> Result<String, WindmillError> {
    let status = response.status();
    let text = response.text().await?;
    if status.is_success() {
        return Ok(text);
    }
    let body = truncate(text);
    Err(match status {
        StatusCode::BAD_REQUEST => WindmillError::BadRequest(body),
        StatusCode::UNAUTHORIZED => WindmillError::Unauthorized,
        StatusCode::FORBIDDEN => WindmillError::Forbidden(body),
        StatusCode::NOT_FOUND => WindmillError::NotFound(body),
        other => WindmillError::Status {
            status: other.as_u16(),
            body,
        },
    })
}

async fn json_of<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, WindmillError> {
    let text = text_of(response).await?;
    serde_json::from_str(&text).map_err(|e| WindmillError::Decode(format!("{e}: {}", truncate(text))))
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_ERROR_BODY {
        let mut end = MAX_ERROR_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
