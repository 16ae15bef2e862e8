//! The rows of `scheduler_runs` as [`Run`]s: the columns every query of a run
//! selects, and how a row reads back. Shared by the single statements of
//! [`PgRuns`](super::PgRuns) and the batched claim.

use tokio_postgres::Row;

use crate::Error;
use crate::runs::{Claimed, Run, RunStatus};

pub(super) const COLUMNS: &str = "id, job, scheduled_at, claimed_at, started_at, finished_at, replica, \
     attempt, catch_up, manual, target, windmill_job_id, status, result, error";

/// The two halves of an advisory lock key, as `pg_locks` shows them.
pub(super) fn key_halves(key: i64) -> (i64, i64) {
    let key = key as u64;
    ((key >> 32) as i64, (key & 0xffff_ffff) as i64)
}

/// What a claim that inserted `run` came to.
pub(super) fn claimed(run: Run) -> Claimed {
    if run.status == RunStatus::Skipped {
        Claimed::Skipped(run)
    } else {
        Claimed::Run(run)
    }
}

pub(super) fn run_of(row: &Row) -> Result<Run, Error> {
    let status: String = row.try_get("status")?;
    let attempt: i32 = row.try_get("attempt")?;
    Ok(Run {
        id: row.try_get("id")?,
        job: row.try_get("job")?,
        scheduled_at: row.try_get("scheduled_at")?,
        claimed_at: row.try_get("claimed_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        replica: row.try_get("replica")?,
        attempt: u32::try_from(attempt).unwrap_or_default(),
        catch_up: row.try_get("catch_up")?,
        manual: row.try_get("manual")?,
        target: row.try_get("target")?,
        windmill_job_id: row.try_get("windmill_job_id")?,
        status: RunStatus::parse(&status).ok_or_else(|| Error::Internal(format!("unknown run status `{status}`")))?,
        result: row.try_get("result")?,
        error: row.try_get("error")?,
    })
}
