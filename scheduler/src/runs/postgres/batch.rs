//! Batched, fenced claims on the lock connection.
//!
//! Every job ticking at the same second claims at the same instant; one
//! statement (and one commit) per claim, serialised on the one lock
//! connection, would make the last of them wait for all the others'
//! commits. The batcher takes every claim queued while the previous batch
//! ran and claims them in one statement: one round trip, one commit. The
//! fence is the same, per row: the row is inserted only if this connection
//! holds that job's advisory lock, and only if `(job, scheduled_at)` is new.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::Statement;

use super::rows::{COLUMNS, claimed, key_halves, run_of};
use crate::Error;
use crate::postgres::Session;
use crate::runs::{Claim, Claimed};

/// One claim waiting for its batch.
pub(super) struct Request {
    pub claim: Claim,
    pub answer: oneshot::Sender<Result<Claimed, Error>>,
}

/// Most claims in one statement.
const MAX_BATCH: usize = 1000;

fn batch_sql() -> String {
    format!(
        "WITH req AS (
             SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bool[],
                                  $5::bool[], $6::text[], $7::text[], $8::bigint[], $9::bigint[])
                 AS r(job, scheduled_at, claimed_at, catch_up, manual, target, overlap, hi, lo)),
         held AS (
             SELECT classid::bigint AS hi, objid::bigint AS lo FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = pg_backend_pid()),
         decided AS (
             SELECT req.*, CASE
                 WHEN req.overlap = 'skip' AND EXISTS (SELECT 1 FROM scheduler_runs o
                      WHERE o.job = req.job AND o.status IN ('claimed', 'running')) THEN 'skipped'
                 WHEN req.overlap = 'buffer_one' AND EXISTS (SELECT 1 FROM scheduler_runs o
                      WHERE o.job = req.job AND o.status = 'claimed') THEN 'skipped'
                 ELSE 'claimed' END AS status
             FROM req JOIN held USING (hi, lo))
         INSERT INTO scheduler_runs
             (job, scheduled_at, claimed_at, replica, catch_up, manual, target, status, finished_at)
         SELECT job, scheduled_at, claimed_at, $10::text, catch_up, manual, target, status,
                CASE WHEN status = 'skipped' THEN claimed_at END
         FROM decided
         ON CONFLICT (job, scheduled_at) DO NOTHING
         RETURNING {COLUMNS}"
    )
}

/// Runs batches until every sender is gone.
pub(super) async fn run(
    mut requests: mpsc::UnboundedReceiver<Request>,
    sessions: watch::Receiver<Option<Arc<Session>>>,
    replica_id: String,
) {
    let sql = batch_sql();
    let mut prepared: Option<(u64, Statement)> = None;
    while let Some(first) = requests.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let session = sessions.borrow().clone();
        let result = match session {
            None => Err(Error::LockConnectionLost),
            Some(session) => claim_batch(&session, &mut prepared, &sql, &batch, &replica_id).await,
        };
        match result {
            Ok(mut won) => {
                for request in batch {
                    let key = (request.claim.job.clone(), request.claim.scheduled_at);
                    let claimed = won.remove(&key).unwrap_or(Claimed::Lost);
                    let _ = request.answer.send(Ok(claimed));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for request in batch {
                    let _ = request.answer.send(Err(Error::Database(message.clone())));
                }
            }
        }
    }
}

async fn claim_batch(
    session: &Session,
    prepared: &mut Option<(u64, Statement)>,
    sql: &str,
    batch: &[Request],
    replica_id: &str,
) -> Result<HashMap<(String, DateTime<Utc>), Claimed>, Error> {
    let statement = match prepared {
        Some((epoch, statement)) if *epoch == session.epoch => statement.clone(),
        _ => {
            let statement = session.client.prepare(sql).await?;
            *prepared = Some((session.epoch, statement.clone()));
            statement
        }
    };
    let claims: Vec<&Claim> = batch.iter().map(|r| &r.claim).collect();
    let jobs: Vec<&str> = claims.iter().map(|c| c.job.as_str()).collect();
    let scheduled: Vec<DateTime<Utc>> = claims.iter().map(|c| c.scheduled_at).collect();
    let claimed_at: Vec<DateTime<Utc>> = claims.iter().map(|c| c.claimed_at).collect();
    let catch_up: Vec<bool> = claims.iter().map(|c| c.catch_up).collect();
    let manual: Vec<bool> = claims.iter().map(|c| c.manual).collect();
    let targets: Vec<&str> = claims.iter().map(|c| c.target.as_str()).collect();
    let overlap: Vec<&str> = claims.iter().map(|c| c.overlap.as_str()).collect();
    let (hi, lo): (Vec<i64>, Vec<i64>) = claims.iter().map(|c| key_halves(c.lock_key)).unzip();
    let rows = session
        .client
        .query(
            &statement,
            &[
                &jobs,
                &scheduled,
                &claimed_at,
                &catch_up,
                &manual,
                &targets,
                &overlap,
                &hi,
                &lo,
                &replica_id,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let run = run_of(row)?;
            Ok(((run.job.clone(), run.scheduled_at), claimed(run)))
        })
        .collect()
}
