//! [`RunStore`] in PostgreSQL: [`PgRuns`], on the scheduler's [`Pg`]. Claims
//! run on the lock connection itself, so the fence's `pg_backend_pid()` is
//! the lock holder, and a claim on a lost connection cannot succeed at all.
//!
//! - [`batch`]: the claim batcher, a task each [`PgRuns`] starts and owns,
//!   that claims the ticks queued at the same instant in one statement;
//! - [`rows`]: the columns of a run and how a row reads back.

mod batch;
mod rows;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use self::rows::{COLUMNS, claimed, key_halves, run_of};
use super::store::RunStore;
use super::{Claim, Claimed, Outcome, Run, Trigger};
use crate::Error;
use crate::postgres::Pg;

/// The run history in PostgreSQL, with its claim batcher.
pub struct PgRuns {
    pg: Arc<Pg>,
    /// Claims queued for the batcher, which ends when this, its only sender,
    /// is dropped.
    claims: mpsc::UnboundedSender<batch::Request>,
}

impl PgRuns {
    /// The runs of `pg`; starts the claim batcher on the lock connection.
    pub fn new(pg: Arc<Pg>) -> Self {
        let (claims, requests) = mpsc::unbounded_channel();
        tokio::spawn(batch::run(requests, pg.sessions(), pg.replica_id.clone()));
        Self { pg, claims }
    }
}

/// The fence: this connection holds the advisory lock `($hi, $lo)` (a
/// bigint key shows in `pg_locks` as classid = high half, objid = low half).
const FENCE: &str = "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
     AND pid = pg_backend_pid() AND classid::bigint = $9::bigint AND objid::bigint = $10::bigint AND objsubid = 1)";

/// Inserts the claim's row if the fence holds; the overlap policy decides
/// between `claimed` and `skipped` from the job's unfinished runs. With a
/// trigger (`$11`), the same statement deletes it, also only under the fence:
/// a manual run is never lost nor doubled.
fn claim_sql(with_trigger: bool) -> String {
    let (taken, from_taken) = if with_trigger {
        (
            format!("taken AS (DELETE FROM scheduler_triggers WHERE id = $11 AND {FENCE} RETURNING id),"),
            ", taken",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "WITH {taken} busy AS (
             SELECT count(*) AS active, count(*) FILTER (WHERE status = 'claimed') AS waiting
             FROM scheduler_runs WHERE job = $1::text AND status IN ('claimed', 'running'))
         INSERT INTO scheduler_runs
             (job, scheduled_at, claimed_at, replica, catch_up, manual, target, status, finished_at)
         SELECT $1::text, $2::timestamptz, $3::timestamptz, $4::text, $5::bool, $6::bool,
                $7::text, s.status, CASE WHEN s.status = 'skipped' THEN $3::timestamptz END
         FROM busy{from_taken}, LATERAL (SELECT CASE
                 WHEN $8::text = 'skip' AND busy.active > 0 THEN 'skipped'
                 WHEN $8::text = 'buffer_one' AND busy.waiting > 0 THEN 'skipped'
                 ELSE 'claimed' END AS status) s
         WHERE {FENCE}
         ON CONFLICT (job, scheduled_at) DO NOTHING
         RETURNING {COLUMNS}"
    )
}

fn claimed_of(row: Option<Row>) -> Result<Claimed, Error> {
    let Some(row) = row else { return Ok(Claimed::Lost) };
    Ok(claimed(run_of(&row)?))
}

impl PgRuns {
    async fn fenced_claim(&self, claim: &Claim, trigger: Option<i64>) -> Result<Claimed, Error> {
        let session = self.pg.session().ok_or(Error::LockConnectionLost)?;
        let (hi, lo) = key_halves(claim.lock_key);
        let overlap = claim.overlap.as_str();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &claim.job,
            &claim.scheduled_at,
            &claim.claimed_at,
            &self.pg.replica_id,
            &claim.catch_up,
            &claim.manual,
            &claim.target,
            &overlap,
            &hi,
            &lo,
        ];
        if let Some(id) = &trigger {
            params.push(id);
        }
        let sql = claim_sql(trigger.is_some());
        let row = session.client.query_opt(&sql, &params).await?;
        claimed_of(row)
    }
}

#[async_trait]
impl RunStore for PgRuns {
    async fn claim(&self, claim: &Claim) -> Result<Claimed, Error> {
        let (answer, answered) = oneshot::channel();
        self.claims
            .send(batch::Request {
                claim: claim.clone(),
                answer,
            })
            .map_err(|_| Error::Internal("the claim batcher stopped".into()))?;
        answered
            .await
            .map_err(|_| Error::Internal("the claim batcher dropped a claim".into()))?
    }

    async fn pending_triggers(&self, jobs: &[String]) -> Result<Vec<Trigger>, Error> {
        let rows = self
            .pg
            .client()
            .await?
            .query(
                "SELECT id, job, requested_at FROM scheduler_triggers WHERE job = ANY($1) ORDER BY id",
                &[&jobs],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Trigger {
                    id: r.try_get(0)?,
                    job: r.try_get(1)?,
                    requested_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    async fn claim_trigger(&self, trigger: &Trigger, claim: &Claim) -> Result<Claimed, Error> {
        self.fenced_claim(claim, Some(trigger.id)).await
    }

    async fn last_tick(&self, job: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let row = self
            .pg
            .client()
            .await?
            .query_one(
                "SELECT max(scheduled_at) FROM scheduler_runs WHERE job = $1 AND NOT manual",
                &[&job],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn start_attempt(
        &self,
        id: i64,
        attempt: u32,
        windmill_job_id: Option<Uuid>,
        started_at: DateTime<Utc>,
        exclusive: bool,
    ) -> Result<bool, Error> {
        let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
        let n = self
            .pg
            .execute_cached(
                "UPDATE scheduler_runs r SET status = 'running', attempt = $2, windmill_job_id = $3,
                     started_at = COALESCE(r.started_at, $4)
                 WHERE id = $1 AND replica = $5 AND status IN ('claimed', 'running')
                   AND (NOT $6 OR NOT EXISTS (SELECT 1 FROM scheduler_runs o
                        WHERE o.job = r.job AND o.status = 'running' AND o.id <> r.id))",
                &[
                    &id,
                    &attempt,
                    &windmill_job_id,
                    &started_at,
                    &self.pg.replica_id,
                    &exclusive,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn still_ours(&self, id: i64) -> Result<bool, Error> {
        let n = self
            .pg
            .execute_cached(
                "SELECT 1 FROM scheduler_runs WHERE id = $1 AND replica = $2 \
                 AND status IN ('claimed', 'running')",
                &[&id, &self.pg.replica_id],
            )
            .await?;
        Ok(n == 1)
    }

    async fn finish(&self, id: i64, outcome: &Outcome, finished_at: DateTime<Utc>) -> Result<bool, Error> {
        let n = self
            .pg
            .execute_cached(
                "UPDATE scheduler_runs SET status = $2, result = $3, error = $4, finished_at = $5
                 WHERE id = $1 AND replica = $6 AND status IN ('claimed', 'running')",
                &[
                    &id,
                    &outcome.status.as_str(),
                    &outcome.result,
                    &outcome.error,
                    &finished_at,
                    &self.pg.replica_id,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn orphans(&self, jobs: &[String], live: &[String]) -> Result<Vec<Run>, Error> {
        let rows = self
            .pg
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM scheduler_runs WHERE job = ANY($1) \
                     AND status IN ('claimed', 'running') AND NOT (replica = ANY($2)) ORDER BY id"
                ),
                &[&jobs, &live],
            )
            .await?;
        rows.iter().map(run_of).collect()
    }

    async fn adopt(&self, run: &Run, lock_key: i64) -> Result<bool, Error> {
        let session = self.pg.session().ok_or(Error::LockConnectionLost)?;
        let (hi, lo) = key_halves(lock_key);
        // FENCE uses $9 and $10; the placeholders in between are unused.
        let fence = FENCE.replace("$9", "$4").replace("$10", "$5");
        let n = session
            .client
            .execute(
                &format!(
                    "UPDATE scheduler_runs SET replica = $2 WHERE id = $1 AND replica = $3 \
                     AND status IN ('claimed', 'running') AND {fence}"
                ),
                &[&run.id, &self.pg.replica_id, &run.replica, &hi, &lo],
            )
            .await?;
        Ok(n == 1)
    }

    async fn recent(&self, job: &str, limit: u32) -> Result<Vec<Run>, Error> {
        let rows = self
            .pg
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM scheduler_runs WHERE job = $1 \
                     ORDER BY scheduled_at DESC LIMIT $2"
                ),
                &[&job, &i64::from(limit)],
            )
            .await?;
        rows.iter().map(run_of).collect()
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, Error> {
        let n = self
            .pg
            .client()
            .await?
            .execute(
                "DELETE FROM scheduler_runs r WHERE r.id IN (
                     SELECT id FROM scheduler_runs o
                     WHERE o.scheduled_at < $1 AND o.status NOT IN ('claimed', 'running')
                       AND o.scheduled_at < (SELECT max(scheduled_at) FROM scheduler_runs l
                                             WHERE l.job = o.job AND NOT l.manual)
                     LIMIT 10000)",
                &[&before],
            )
            .await?;
        Ok(n)
    }
}
