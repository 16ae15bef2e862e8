//! [`Executor`]: runs a claimed run to its end: each attempt (a function
//! call, or a Windmill job submitted and followed), the wait between
//! attempts, the timeout, and the outcome recorded on the run.
//!
//! Every update of the run is fenced by its `replica` column: when another
//! replica adopted the run (this one was thought dead), this one stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use flexcore_infra::windmill::{Runnable, WindmillError};
use serde_json::Value;
use tokio::task::JoinSet;

use super::Context;
use crate::jobs::{Job, Overlap, Target};
use crate::runs::{Outcome, Run, RunStatus, bounded_result, truncate};
use crate::targets::CallError;
use crate::targets::windmill::job_id;

/// Runs claimed runs as tasks, and waits for them at shutdown.
#[derive(Clone)]
pub struct Executor {
    ctx: Arc<Context>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

/// How one attempt ended.
enum Attempt {
    /// The run is over (success, or a failure not worth retrying).
    Done(Outcome),
    /// This attempt failed; another may follow.
    Failed { status: RunStatus, error: String },
    /// The run is no longer this replica's.
    NotOurs,
}

impl Executor {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            tasks: Arc::new(Mutex::new(JoinSet::new())),
        }
    }

    /// Starts running `run` (claimed now, or adopted).
    pub fn spawn(&self, run: Run, job: Arc<Job>) {
        let ctx = Arc::clone(&self.ctx);
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Reap finished tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move { execute(ctx, run, job).await });
    }

    /// Waits for the runs in flight, at most `grace`; the rest are abandoned
    /// (their rows stay unfinished, and another replica adopts them).
    pub async fn drain(&self, grace: Duration) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("runs still in flight after {grace:?}; another replica will adopt them");
        }
    }
}

async fn execute(ctx: Arc<Context>, run: Run, job: Arc<Job>) {
    // Claimed ahead of time: start when due.
    ctx.clock.sleep_until(run.scheduled_at).await;
    let first = run.attempt.max(1);
    // Adopted mid-call: whether the function ran is unknown, and calling it
    // again could run the tick twice.
    if run.status == RunStatus::Running && !job.target.is_windmill() {
        let outcome = Outcome {
            status: RunStatus::Failed,
            result: None,
            error: Some(format!(
                "replica {} was lost during attempt {first}; the call's outcome is unknown \
                 and it is not repeated",
                run.replica
            )),
        };
        finish(&ctx, &run, &job, outcome).await;
        return;
    }
    let mut errors = Vec::new();
    let mut last_status = RunStatus::Failed;
    for attempt in first..=job.retry.attempts.max(first) {
        if attempt > first {
            tokio::time::sleep(job.backoff_before(attempt)).await;
        }
        let result = match &job.target {
            Target::Function { name, payload } => call_function(&ctx, &run, &job, attempt, name, payload).await,
            Target::WindmillScript { path, args } => {
                run_windmill(&ctx, &run, &job, attempt, Runnable::Script(path.clone()), args).await
            }
            Target::WindmillFlow { path, args } => {
                run_windmill(&ctx, &run, &job, attempt, Runnable::Flow(path.clone()), args).await
            }
        };
        match result {
            Attempt::Done(outcome) => {
                finish(&ctx, &run, &job, outcome).await;
                return;
            }
            Attempt::Failed { status, error } => {
                tracing::warn!(job = %job.name, scheduled_at = %run.scheduled_at, attempt, "attempt failed: {error}");
                errors.push(format!("attempt {attempt}: {error}"));
                last_status = status;
            }
            Attempt::NotOurs => {
                tracing::info!(job = %job.name, run = run.id, "run taken over by another replica");
                return;
            }
        }
    }
    let outcome = Outcome {
        status: last_status,
        result: None,
        error: Some(truncate(&errors.join("; "))),
    };
    finish(&ctx, &run, &job, outcome).await;
}

/// Marks the attempt as running. With `buffer_one`, the first attempt waits
/// for the job's other running run to end. False: the run is not ours.
async fn start(
    ctx: &Context,
    run: &Run,
    job: &Job,
    attempt: u32,
    windmill_job_id: Option<uuid::Uuid>,
    started_at: DateTime<Utc>,
) -> bool {
    let exclusive = job.overlap == Overlap::BufferOne;
    let mut delay = Duration::from_millis(50);
    loop {
        match ctx
            .runs
            .start_attempt(run.id, attempt, windmill_job_id, started_at, exclusive)
            .await
        {
            Ok(true) => {
                if attempt == 1 && run.started_at.is_none() {
                    let lag = (started_at - run.scheduled_at).to_std().unwrap_or_default();
                    ctx.metrics.tick_lag(&job.name, lag);
                }
                return true;
            }
            Ok(false) if exclusive => match ctx.runs.still_ours(run.id).await {
                Ok(true) => {} // wait for our turn
                Ok(false) => return false,
                Err(e) => tracing::debug!("cannot check run {}: {e}", run.id),
            },
            Ok(false) => return false,
            Err(e) => tracing::warn!(job = %job.name, "cannot mark the run started, retrying: {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

async fn call_function(ctx: &Context, run: &Run, job: &Job, attempt: u32, function: &str, payload: &Value) -> Attempt {
    let Some(functions) = &ctx.targets.functions else {
        return Attempt::Done(failed("no gateway is configured (`gateway.nodes` or `redis_url`)"));
    };
    if !start(ctx, run, job, attempt, None, ctx.clock.now()).await {
        return Attempt::NotOurs;
    }
    let request_id = format!("{}@{}#{attempt}", job.name, run.scheduled_at.timestamp_millis());
    match functions.call(function, payload, &request_id, job.timeout).await {
        Ok(result) => Attempt::Done(Outcome {
            status: RunStatus::Succeeded,
            result: Some(bounded_result(result)),
            error: None,
        }),
        Err(e @ CallError::TimedOut(_)) => Attempt::Failed {
            status: RunStatus::TimedOut,
            error: e.to_string(),
        },
        Err(e) => Attempt::Failed {
            status: RunStatus::Failed,
            error: e.to_string(),
        },
    }
}

async fn run_windmill(ctx: &Context, run: &Run, job: &Job, attempt: u32, runnable: Runnable, args: &Value) -> Attempt {
    let Some(windmill) = &ctx.targets.windmill else {
        return Attempt::Done(failed("no [windmill] is configured"));
    };
    if job.overlap == Overlap::BufferOne && !start(ctx, run, job, attempt, None, ctx.clock.now()).await {
        return Attempt::NotOurs;
    }
    let id = job_id(&job.name, run.scheduled_at, attempt);
    // Submit, waiting Windmill out while the tick is inside its catch-up
    // window (the run stays `claimed`); the same id makes resubmission safe.
    let give_up = run.scheduled_at + chrono::Duration::from_std(job.catch_up).unwrap_or(chrono::Duration::MAX);
    let mut delay = Duration::from_millis(100);
    let started_at = loop {
        let started_at = ctx.clock.now();
        match windmill.submit(&runnable, args, id).await {
            Ok(submitted) => {
                if submitted.already_existed {
                    tracing::info!(job = %job.name, %id, "windmill already had this job; following it");
                }
                break started_at;
            }
            Err(e) if e.is_transient() => {
                if ctx.clock.now() > give_up {
                    return Attempt::Done(failed(&format!(
                        "windmill stayed unreachable past the catch-up window: {e}"
                    )));
                }
                tracing::warn!(job = %job.name, %id, "windmill unreachable, will resubmit: {e}");
                if let Ok(false) = ctx.runs.still_ours(run.id).await {
                    return Attempt::NotOurs;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(e) => {
                return Attempt::Failed {
                    status: RunStatus::Failed,
                    error: format!("windmill refused job {id}: {e}"),
                };
            }
        }
    };
    if !start(ctx, run, job, attempt, Some(id), started_at).await {
        return Attempt::NotOurs;
    }
    follow(ctx, job, id).await
}

/// Follows Windmill job `id` to its end, cancelling it past the timeout.
async fn follow(ctx: &Context, job: &Job, id: uuid::Uuid) -> Attempt {
    let Some(windmill) = &ctx.targets.windmill else {
        return Attempt::Done(failed("no [windmill] is configured"));
    };
    match windmill.wait(id, job.timeout).await {
        Ok(done) if done.success => Attempt::Done(Outcome {
            status: RunStatus::Succeeded,
            result: Some(bounded_result(done.result)),
            error: None,
        }),
        Ok(done) => {
            // Cancelled by someone else: over, not retried.
            let cancelled = matches!(
                windmill.client.job(id).await,
                Ok(flexcore_infra::windmill::Job::CompletedJob { canceled: true, .. })
            );
            let error = format!("windmill job {id} failed: {}", truncate(&done.result.to_string()));
            if cancelled {
                Attempt::Done(Outcome {
                    status: RunStatus::Cancelled,
                    result: Some(bounded_result(done.result)),
                    error: Some(error),
                })
            } else {
                Attempt::Failed {
                    status: RunStatus::Failed,
                    error,
                }
            }
        }
        Err(WindmillError::Timeout { .. }) => {
            let reason = format!(
                "flexcore-scheduler: job '{}' passed its timeout of {}",
                job.name,
                humantime::format_duration(job.timeout)
            );
            if let Err(e) = windmill.cancel(id, &reason).await {
                tracing::warn!(job = %job.name, %id, "cannot cancel the windmill job: {e}");
            }
            Attempt::Failed {
                status: RunStatus::TimedOut,
                error: format!("windmill job {id} cancelled: {reason}"),
            }
        }
        Err(e) => Attempt::Failed {
            status: RunStatus::Failed,
            error: format!("following windmill job {id}: {e}"),
        },
    }
}

fn failed(error: &str) -> Outcome {
    Outcome {
        status: RunStatus::Failed,
        result: None,
        error: Some(error.to_owned()),
    }
}

/// Records the outcome, retrying until the database answers (an unfinished
/// run would hold up its job's overlap policy); only a shutdown stops it,
/// and then another replica adopts the run.
async fn finish(ctx: &Context, run: &Run, job: &Job, outcome: Outcome) {
    let mut delay = Duration::from_millis(50);
    loop {
        match ctx.runs.finish(run.id, &outcome, ctx.clock.now()).await {
            Ok(true) => {
                ctx.metrics.run_ended(&job.name, outcome.status);
                tracing::debug!(job = %job.name, scheduled_at = %run.scheduled_at,
                    status = outcome.status.as_str(), "run finished");
                return;
            }
            Ok(false) => return, // adopted by another replica meanwhile
            Err(e) => {
                tracing::warn!(job = %job.name, "cannot record the run's end, retrying: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
