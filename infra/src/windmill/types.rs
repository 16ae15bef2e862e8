//! What Windmill answers and what FlexCore sends it, as typed values.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What to start: a script or a flow, by path (`f/folder/name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runnable {
    Script(String),
    Flow(String),
}

impl Runnable {
    /// The route segment after `jobs/run/`: `p/{path}` or `f/{path}`.
    pub(super) fn route(&self) -> String {
        match self {
            Self::Script(path) => format!("p/{path}"),
            Self::Flow(path) => format!("f/{path}"),
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Self::Script(path) | Self::Flow(path) => path,
        }
    }
}

/// A job Windmill accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub id: Uuid,
    /// Windmill already had a job with this id (a resubmission): it was not
    /// started again, and the existing one is the one to follow.
    pub already_existed: bool,
}

/// The answer of `get_result_maybe`: the cheapest way to poll a job.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResultMaybe {
    pub completed: bool,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub started: Option<bool>,
    #[serde(default)]
    pub result: Option<Value>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub success: bool,
    /// The result (or, on failure, the error) Windmill recorded.
    pub result: Value,
}

/// A job as `jobs_u/get` describes it, by its `type` tag.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Job {
    /// Waiting for a worker (`running = false`) or running.
    QueuedJob {
        id: Uuid,
        #[serde(default)]
        running: bool,
        #[serde(default)]
        script_path: Option<String>,
    },
    /// Finished: succeeded, failed, or cancelled (a failure with `canceled`).
    CompletedJob {
        id: Uuid,
        success: bool,
        #[serde(default)]
        canceled: bool,
        #[serde(default)]
        canceled_reason: Option<String>,
        #[serde(default)]
        result: Option<Value>,
        #[serde(default)]
        script_path: Option<String>,
    },
}

/// Whether a create call made something new or found it already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Made now; Windmill's answer (a script's hash, a flow's path).
    New(String),
    /// It already existed; nothing was changed.
    Existing,
}

/// A script version to create (`scripts/create`).
#[derive(Debug, Clone, Serialize)]
pub struct NewScript {
    pub path: String,
    pub summary: String,
    pub description: String,
    pub content: String,
    /// `python3`, `deno`, `bash`, `bun`, ...
    pub language: String,
}

/// A flow to create (`flows/create`).
#[derive(Debug, Clone, Serialize)]
pub struct NewFlow {
    pub path: String,
    pub summary: String,
    pub description: String,
    /// The flow's definition: `{"modules": [...]}`.
    pub value: Value,
    /// The JSON schema of its inputs.
    pub schema: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_decode_by_their_type_tag() {
        let id = Uuid::nil();
        let queued: Job =
            serde_json::from_str(&format!(r#"{{"type":"QueuedJob","id":"{id}","running":true}}"#)).unwrap();
        assert!(matches!(queued, Job::QueuedJob { running: true, .. }));
        let done: Job = serde_json::from_str(&format!(
            r#"{{"type":"CompletedJob","id":"{id}","success":false,"canceled":true,"result":{{"error":"x"}}}}"#
        ))
        .unwrap();
        assert!(matches!(
            done,
            Job::CompletedJob {
                success: false,
                canceled: true,
                ..
            }
        ));
    }
}
