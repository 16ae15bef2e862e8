//! Windmill targets: submit under a job id derived from the tick, follow
//! the job to its end, cancel it past the timeout.
//!
//! Job ids are UUIDv5 in [`JOB_ID_NAMESPACE`] of the text
//! `"{job}\n{scheduled_at}"` (RFC 3339, UTC, microseconds, `Z`) for the first
//! attempt, and `"{job}\n{scheduled_at}\n{attempt}"` for attempt 2 and later.
//! A replica that crashed after submitting, or one that adopts the run,
//! resubmits the same id, and Windmill's 400 "already exists" tells it the
//! job was accepted: a tick is never started twice; a retry is a new job.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use flexcore_infra::windmill::{Backoff, Completion, Runnable, Submitted, WindmillClient, WindmillError};
use serde_json::Value;
use uuid::Uuid;

/// The namespace of job ids: UUIDv5 of the URL namespace and
/// `urn:flexcore:scheduler:windmill-job-id`. Fixed forever.
pub const JOB_ID_NAMESPACE: Uuid = uuid::uuid!("b5994dcf-54c0-58e0-a449-f52fd47ed59b");

/// The Windmill job id of `attempt` (from 1) of the tick `(job, scheduled_at)`.
pub fn job_id(job: &str, scheduled_at: DateTime<Utc>, attempt: u32) -> Uuid {
    let tick = format!("{job}\n{}", scheduled_at.to_rfc3339_opts(SecondsFormat::Micros, true));
    let name = if attempt <= 1 {
        tick
    } else {
        format!("{tick}\n{attempt}")
    };
    Uuid::new_v5(&JOB_ID_NAMESPACE, name.as_bytes())
}

/// Windmill, as the scheduler uses it.
#[derive(Debug, Clone)]
pub struct WindmillTargets {
    pub client: WindmillClient,
    pub poll: Backoff,
}

impl WindmillTargets {
    pub fn new(client: WindmillClient) -> Self {
        Self {
            client,
            poll: Backoff::default(),
        }
    }

    /// Submits once; a transient error means "try again later".
    pub async fn submit(&self, runnable: &Runnable, args: &Value, id: Uuid) -> Result<Submitted, WindmillError> {
        self.client.run(runnable, args, id).await
    }

    /// Follows job `id` until it completes or `within` passes.
    pub async fn wait(&self, id: Uuid, within: Duration) -> Result<Completion, WindmillError> {
        self.client.wait(id, within, self.poll).await
    }

    /// Cancels job `id`, retrying briefly while Windmill is unreachable.
    pub async fn cancel(&self, id: Uuid, reason: &str) -> Result<(), WindmillError> {
        let mut delay = Duration::from_millis(100);
        for _ in 0..5 {
            match self.client.cancel(id, reason).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_transient() => {
                    tracing::debug!(%id, "cancel failed, will retry: {e}");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => return Err(e),
            }
        }
        self.client.cancel(id, reason).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_fixed_and_distinct_per_attempt() {
        assert_eq!(
            JOB_ID_NAMESPACE,
            Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:flexcore:scheduler:windmill-job-id")
        );
        let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let first = job_id("report", at, 1);
        assert_eq!(
            first,
            Uuid::new_v5(&JOB_ID_NAMESPACE, b"report\n2023-11-14T22:13:20.000000Z")
        );
        assert_eq!(first, job_id("report", at, 0));
        assert_ne!(first, job_id("report", at, 2));
        assert_ne!(job_id("report", at, 2), job_id("report", at, 3));
        assert_ne!(first, job_id("other", at, 1));
    }
}
