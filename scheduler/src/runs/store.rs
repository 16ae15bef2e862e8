//! [`RunStore`]: the run history, and the fenced claim that makes a tick
//! run once.
//!
//! Fencing: a tick is claimed by inserting `(job, scheduled_at)` under a
//! UNIQUE constraint, in one statement that also checks that this replica's
//! lock connection still holds the job's advisory lock. The lock only keeps
//! replicas from competing; the constraint is what makes a second claim fail,
//! whatever the locks did. Later updates of a run are fenced by its `replica`
//! column: a run adopted by another replica is no longer ours to update.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Claim, Claimed, Outcome, Run, Trigger};
use crate::Error;

#[async_trait]
pub trait RunStore: Send + Sync {
    /// Claims a tick (fenced); the overlap policy may record it as skipped.
    async fn claim(&self, claim: &Claim) -> Result<Claimed, Error>;

    /// Manual runs asked for on any of `jobs`.
    async fn pending_triggers(&self, jobs: &[String]) -> Result<Vec<Trigger>, Error>;

    /// Claims a manual run (fenced) and consumes its trigger, atomically.
    async fn claim_trigger(&self, trigger: &Trigger, claim: &Claim) -> Result<Claimed, Error>;

    /// The latest scheduled (not manual) tick claimed for `job`.
    async fn last_tick(&self, job: &str) -> Result<Option<DateTime<Utc>>, Error>;

    /// Marks attempt `attempt` of run `id` as running, if the run is still
    /// this replica's and unfinished; with `exclusive`, only if no other run
    /// of the job is running. False when it may not start.
    async fn start_attempt(
        &self,
        id: i64,
        attempt: u32,
        windmill_job_id: Option<Uuid>,
        started_at: DateTime<Utc>,
        exclusive: bool,
    ) -> Result<bool, Error>;

    /// Whether run `id` is still this replica's and unfinished.
    async fn still_ours(&self, id: i64) -> Result<bool, Error>;

    /// Records the end of run `id`, if it is still this replica's.
    async fn finish(&self, id: i64, outcome: &Outcome, finished_at: DateTime<Utc>) -> Result<bool, Error>;

    /// Unfinished runs of `jobs` whose replica is not in `live`.
    async fn orphans(&self, jobs: &[String], live: &[String]) -> Result<Vec<Run>, Error>;

    /// Makes an orphan this replica's (fenced by the job's lock, and by the
    /// run still belonging to its old replica).
    async fn adopt(&self, run: &Run, lock_key: i64) -> Result<bool, Error>;

    /// The latest `limit` runs of `job`, newest first.
    async fn recent(&self, job: &str, limit: u32) -> Result<Vec<Run>, Error>;

    /// Deletes finished runs scheduled before `before`, keeping each job's
    /// latest run (the catch-up starting point). Returns how many went.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, Error>;
}
