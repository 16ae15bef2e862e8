//! Runs: one per claimed tick, the history of what fired, where and how it
//! ended.
//!
//! - [`Run`], [`RunStatus`], [`Claim`]: the domain;
//! - [`store`]: [`RunStore`], with the fenced claim, in memory and in
//!   PostgreSQL ([`PgRuns`]: `scheduler_runs`, `UNIQUE (job, scheduled_at)`);
//! - [`prune`]: the history kept for `retention`, pruned every minute.

mod memory;
mod postgres;
pub mod prune;
pub mod store;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::jobs::Overlap;
pub use postgres::PgRuns;
pub use store::RunStore;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Claimed (the tick is ours), not started yet: waiting for its turn, or
    /// for Windmill to come back.
    Claimed,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    /// Not run, by the overlap policy.
    Skipped,
}

impl RunStatus {
    pub const ALL: [Self; 7] = [
        Self::Claimed,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::TimedOut,
        Self::Cancelled,
        Self::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Claimed or running.
    pub fn unfinished(self) -> bool {
        matches!(self, Self::Claimed | Self::Running)
    }
}

/// One run, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: i64,
    pub job: String,
    pub scheduled_at: DateTime<Utc>,
    pub claimed_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub replica: String,
    /// The current (or last) attempt, from 1; 0 before the first starts.
    pub attempt: u32,
    pub catch_up: bool,
    pub manual: bool,
    pub target: String,
    pub windmill_job_id: Option<Uuid>,
    pub status: RunStatus,
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// A request to claim one tick: insert `(job, scheduled_at)` if this replica
/// still holds the job's lock.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub job: String,
    pub lock_key: i64,
    pub scheduled_at: DateTime<Utc>,
    pub claimed_at: DateTime<Utc>,
    pub catch_up: bool,
    pub manual: bool,
    pub target: String,
    pub overlap: Overlap,
}

/// What a claim came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// The tick is ours, to run.
    Run(Run),
    /// The tick is ours and recorded as skipped (overlap policy).
    Skipped(Run),
    /// Not ours: already claimed (by anyone), or the lock is no longer held.
    Lost,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: RunStatus,
    pub result: Option<Value>,
    pub error: Option<String>,
}

/// A manual run asked for with `jobs trigger`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub id: i64,
    pub job: String,
    pub requested_at: DateTime<Utc>,
}

/// Longest result or error text kept on a run.
pub const MAX_RECORDED: usize = 8 * 1024;

/// `text` cut to [`MAX_RECORDED`] bytes on a character boundary.
pub fn truncate(text: &str) -> String {
    if text.len() <= MAX_RECORDED {
        return text.to_owned();
    }
    let mut end = MAX_RECORDED;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (truncated)", &text[..end])
}

/// A result small enough to keep: itself, or its truncated text.
pub fn bounded_result(result: Value) -> Value {
    let text = result.to_string();
    if text.len() <= MAX_RECORDED {
        result
    } else {
        Value::String(truncate(&text))
    }
}
