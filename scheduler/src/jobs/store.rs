//! [`JobStore`]: where jobs live. The file's jobs are synced into it at
//! start-up; jobs can also be added to it directly (a row in
//! `scheduler_jobs`); pause and resume are stored there, so that every
//! replica sees them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Job, JobSpec, JobState};
use crate::Error;

/// A job as stored, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub name: String,
    /// The [`JobSpec`] as JSON.
    pub spec: Value,
    /// `config` (synced from a file) or `database` (added directly).
    pub source: String,
    pub paused: bool,
    pub created_at: DateTime<Utc>,
    pub resumed_at: Option<DateTime<Utc>>,
}

impl JobRecord {
    /// Validates the stored spec.
    pub fn to_state(&self) -> Result<JobState, Error> {
        let invalid = |message: String| Error::InvalidJob {
            job: self.name.clone(),
            message,
        };
        let spec: JobSpec =
            serde_json::from_value(self.spec.clone()).map_err(|e| invalid(format!("stored spec: {e}")))?;
        if spec.name != self.name {
            return Err(invalid(format!("stored spec is named '{}'", spec.name)));
        }
        let job = Job::from_spec(spec).map_err(|(key, m)| invalid(format!("`{key}`: {m}")))?;
        Ok(JobState {
            job,
            paused: self.paused,
            created_at: self.created_at,
            resumed_at: self.resumed_at,
        })
    }
}

/// Where jobs are kept.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Makes the stored `config` jobs exactly `specs` (added, updated,
    /// removed), keeping their pause state; jobs added directly are untouched.
    async fn sync_config(&self, specs: &[JobSpec]) -> Result<(), Error>;

    /// Every stored job.
    async fn list(&self) -> Result<Vec<JobRecord>, Error>;

    /// Pauses or resumes `name`; [`Error::UnknownJob`] when there is none.
    async fn set_paused(&self, name: &str, paused: bool) -> Result<(), Error>;

    /// Asks the replica that owns `name` for a manual run; returns the time
    /// of the request, which becomes the run's `scheduled_at`.
    async fn request_trigger(&self, name: &str) -> Result<DateTime<Utc>, Error>;
}

/// The active and paused jobs of `records`, with the invalid ones reported
/// (logged) and left out.
pub fn validated(records: &[JobRecord]) -> Vec<JobState> {
    records
        .iter()
        .filter_map(|r| match r.to_state() {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::warn!("ignoring job: {e}");
                None
            }
        })
        .collect()
}
