//! One job's ticker, run while this replica holds the job.
//!
//! On start it catches up: the ticks after the job's last claimed tick (or
//! its creation, or its last resume), within the job's `catch_up` window,
//! are claimed one by one, marked as catch-up. Then it sleeps until each
//! tick is nearly due (`claim_ahead` before) and claims it; the run waits
//! for the due time itself, so it starts on time whatever the claim's
//! round trip and commit took. A claim that fails because the database is
//! away is retried while the tick is still ours to try; the ticker is
//! stopped from outside as soon as the lock is gone.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Context, Executor};
use crate::jobs::JobState;
use crate::runs::Claimed;

/// Most ticks caught up at once: a window holding more is cut to its end.
const MAX_CATCH_UP: usize = 10_000;

pub async fn run(ctx: Arc<Context>, executor: Executor, state: JobState) {
    let job = Arc::new(state.job.clone());
    let Some(mut cursor) = start_point(&ctx, &state).await else {
        return;
    };
    let now = ctx.clock.now();
    let missed = job.schedule.ticks_between(cursor, now, usize::MAX);
    if missed.len() > MAX_CATCH_UP {
        tracing::warn!(job = %job.name, missed = missed.len(), "too many ticks to catch up; running the latest {MAX_CATCH_UP}");
    }
    if !missed.is_empty() {
        tracing::info!(job = %job.name, ticks = missed.len().min(MAX_CATCH_UP), "catching up missed ticks");
    }
    let skip = missed.len().saturating_sub(MAX_CATCH_UP);
    for tick in missed.into_iter().skip(skip) {
        claim(&ctx, &executor, &job, tick, true).await;
        cursor = tick;
    }
    loop {
        let Some(next) = job.schedule.next_after(cursor) else {
            tracing::info!(job = %job.name, "the schedule has no more ticks");
            return;
        };
        // A tick already due when first looked at was missed (a slow claim,
        // a stalled process): it runs as catch-up.
        let late = next < ctx.clock.now();
        if !late {
            let ahead = chrono::Duration::from_std(ctx.claim_ahead).unwrap_or_default();
            ctx.clock.sleep_until(next - ahead).await;
        }
        claim(&ctx, &executor, &job, next, late).await;
        cursor = next;
    }
}

/// Where catching up starts: after the last claimed tick, but not before
/// the catch-up window, the job's creation or its last resume.
async fn start_point(ctx: &Context, state: &JobState) -> Option<DateTime<Utc>> {
    let mut delay = Duration::from_millis(100);
    let last = loop {
        match ctx.runs.last_tick(&state.job.name).await {
            Ok(last) => break last,
            Err(e) => {
                tracing::debug!(job = %state.job.name, "cannot read the last tick: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    };
    let window = chrono::Duration::from_std(state.job.catch_up).unwrap_or(chrono::Duration::MAX);
    let floor = ctx
        .clock
        .now()
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    [Some(floor), last, Some(state.created_at), state.resumed_at]
        .into_iter()
        .flatten()
        .max()
}

/// Claims `tick` in a task of its own, and waits for it: when the ticker is
/// stopped (the lock went) while a claim is on its way, the claim still
/// completes and a won tick is still run, never left claimed and idle.
async fn claim(
    ctx: &Arc<Context>,
    executor: &Executor,
    job: &Arc<crate::jobs::Job>,
    tick: DateTime<Utc>,
    catch_up: bool,
) {
    let task = tokio::spawn(claim_and_run(
        Arc::clone(ctx),
        executor.clone(),
        Arc::clone(job),
        tick,
        catch_up,
    ));
    let _ = task.await;
}

async fn claim_and_run(
    ctx: Arc<Context>,
    executor: Executor,
    job: Arc<crate::jobs::Job>,
    tick: DateTime<Utc>,
    catch_up: bool,
) {
    let mut claim = ctx.claim_for(&job, tick);
    claim.catch_up = catch_up;
    let mut delay = Duration::from_millis(50);
    loop {
        match ctx.claim(&claim).await {
            Ok(Claimed::Run(run)) => {
                executor.spawn(run, Arc::clone(&job));
                return;
            }
            Ok(Claimed::Skipped(run)) => {
                tracing::info!(job = %job.name, scheduled_at = %run.scheduled_at, "tick skipped: the previous run is unfinished");
                return;
            }
            Ok(Claimed::Lost) => {
                tracing::debug!(job = %job.name, %tick, "tick not claimed: already claimed, or the lock is gone");
                return;
            }
            // The database is away: the tick stays due. Keep trying while
            // the lock connection is up (when it goes, the lock goes, and
            // whoever holds the lock next catches the tick up).
            Err(e) => {
                if ctx.locks.sessions().borrow().is_none() {
                    return;
                }
                tracing::warn!(job = %job.name, %tick, "claim failed, retrying: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
                claim.claimed_at = ctx.clock.now();
            }
        }
    }
}
