//! Firing: a ticker task per job this replica holds, claiming each tick
//! through the fence and handing claimed runs to the executor.
//!
//! - [`Supervisor`]: starts a ticker for each held, active job and stops it
//!   when the lock goes (or the lock connection drops: at once, without
//!   waiting for the lock manager's next round), the job is paused, or its
//!   definition changes; it also takes manual triggers and adopts the
//!   unfinished runs of dead replicas;
//! - [`ticker`]: one job's loop: catch-up of missed ticks, then each tick on
//!   time;
//! - [`run`]: [`Executor`], a claimed run's attempts, retries, timeouts and
//!   outcome.

pub mod run;
pub mod ticker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use run::Executor;

use crate::admin::Metrics;
use crate::admin::metrics::ClaimResult;
use crate::clock::Clock;
use crate::config::SchedulerConfig;
use crate::jobs::{Job, JobSet, JobState, JobStore};
use crate::lock::{LockStore, Ownership};
use crate::runs::{Claim, Claimed, RunStore};
use crate::stores::Stores;
use crate::targets::Targets;

/// What the firing side shares.
pub struct Context {
    pub replica_id: String,
    pub clock: Clock,
    pub jobs: Arc<dyn JobStore>,
    pub runs: Arc<dyn RunStore>,
    pub locks: Arc<dyn LockStore>,
    pub targets: Targets,
    pub metrics: Arc<Metrics>,
    /// How often triggers are looked for (and, every few rounds, orphans).
    pub poll_interval: Duration,
    /// How long before its due time a tick is claimed.
    pub claim_ahead: Duration,
    /// When this process started: its own runs claimed before are a previous
    /// life's (same replica id), to adopt like a dead replica's.
    pub started: chrono::DateTime<chrono::Utc>,
}

impl Context {
    /// What the replica `config` describes fires with.
    pub fn new(
        config: &SchedulerConfig,
        stores: &Stores,
        targets: Targets,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> Self {
        Self {
            replica_id: config.replica_id.clone(),
            clock,
            jobs: Arc::clone(&stores.jobs),
            runs: Arc::clone(&stores.runs),
            locks: Arc::clone(&stores.locks),
            targets,
            metrics,
            poll_interval: config.lock_interval,
            claim_ahead: config.claim_ahead,
            started: clock.now(),
        }
    }

    /// Claims through the fence, counting the result.
    pub async fn claim(&self, claim: &Claim) -> Result<Claimed, crate::Error> {
        let claimed = self.runs.claim(claim).await?;
        self.count(&claimed);
        Ok(claimed)
    }

    fn count(&self, claimed: &Claimed) {
        match claimed {
            Claimed::Run(_) => self.metrics.claim(ClaimResult::Claimed),
            Claimed::Skipped(run) => {
                self.metrics.claim(ClaimResult::Skipped);
                self.metrics.run_ended(&run.job, crate::runs::RunStatus::Skipped);
            }
            Claimed::Lost => self.metrics.claim(ClaimResult::Lost),
        }
    }

    /// A claim for `job`'s tick at `scheduled_at`.
    pub fn claim_for(&self, job: &Job, scheduled_at: chrono::DateTime<chrono::Utc>) -> Claim {
        Claim {
            job: job.name.clone(),
            lock_key: job.lock_key(),
            scheduled_at,
            claimed_at: self.clock.now(),
            catch_up: false,
            manual: false,
            target: job.target.describe(),
            overlap: job.overlap,
        }
    }
}

/// A running ticker and the definition it runs.
struct Ticker {
    state: JobState,
    task: JoinHandle<()>,
}

/// Keeps one ticker per held, active job.
pub struct Supervisor {
    pub ctx: Arc<Context>,
    pub executor: Executor,
}

/// Every how many polls orphans are looked for.
const ORPHAN_EVERY: u32 = 8;

impl Supervisor {
    /// Starts a supervisor on `ctx`, with its executor, in a task of its own
    /// that [`run`](Self::run)s until `stop`.
    pub fn spawn(
        ctx: Arc<Context>,
        jobs: watch::Receiver<Arc<JobSet>>,
        owned: watch::Receiver<Ownership>,
        live: watch::Receiver<Vec<String>>,
        stop: watch::Receiver<bool>,
    ) -> (JoinHandle<()>, Executor) {
        let executor = Executor::new(Arc::clone(&ctx));
        let supervisor = Self {
            ctx,
            executor: executor.clone(),
        };
        (tokio::spawn(supervisor.run(jobs, owned, live, stop)), executor)
    }

    pub async fn run(
        self,
        mut jobs: watch::Receiver<Arc<JobSet>>,
        mut owned: watch::Receiver<Ownership>,
        live: watch::Receiver<Vec<String>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut sessions = self.ctx.locks.sessions();
        let mut tickers: HashMap<String, Ticker> = HashMap::new();
        let mut polls = tokio::time::interval(self.ctx.poll_interval);
        polls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poll_count = 0u32;
        loop {
            let mut poll = false;
            tokio::select! {
                changed = jobs.changed() => if changed.is_err() { break },
                changed = owned.changed() => if changed.is_err() { break },
                changed = sessions.changed() => if changed.is_err() { break },
                _ = polls.tick() => poll = true,
                _ = crate::stop::stopped(&mut stop) => break,
            }
            let epoch = *sessions.borrow_and_update();
            let ownership = owned.borrow_and_update().clone();
            let job_set = Arc::clone(&jobs.borrow_and_update());
            // Held jobs count only under the connection that holds them: a
            // lost connection stops every ticker now.
            let held = if epoch.is_some() && ownership.epoch == epoch {
                ownership.jobs
            } else {
                Default::default()
            };
            self.reconcile(&mut tickers, &held, &job_set);
            if poll && !held.is_empty() {
                poll_count = poll_count.wrapping_add(1);
                let held: Vec<String> = held.into_iter().collect();
                self.take_triggers(&held, &job_set).await;
                if poll_count.is_multiple_of(ORPHAN_EVERY) {
                    let live = live.borrow().clone();
                    self.adopt_orphans(&held, &live, &job_set).await;
                }
            }
        }
        for (_, ticker) in tickers.drain() {
            ticker.task.abort();
        }
    }

    fn reconcile(
        &self,
        tickers: &mut HashMap<String, Ticker>,
        held: &std::collections::BTreeSet<String>,
        job_set: &JobSet,
    ) {
        tickers.retain(|name, ticker| {
            let keep = held.contains(name)
                && job_set
                    .get(name)
                    .is_some_and(|s| s.active() && s.job == ticker.state.job)
                && !ticker.task.is_finished();
            if !keep {
                ticker.task.abort();
                tracing::debug!(job = %name, "ticker stopped");
            }
            keep
        });
        for name in held {
            let Some(state) = job_set.get(name).filter(|s| s.active()) else {
                continue;
            };
            if tickers.contains_key(name) {
                continue;
            }
            let task = tokio::spawn(ticker::run(Arc::clone(&self.ctx), self.executor.clone(), state.clone()));
            tracing::debug!(job = %name, "ticker started");
            tickers.insert(
                name.clone(),
                Ticker {
                    state: state.clone(),
                    task,
                },
            );
        }
    }

    async fn take_triggers(&self, held: &[String], job_set: &JobSet) {
        let triggers = match self.ctx.runs.pending_triggers(held).await {
            Ok(triggers) => triggers,
            Err(e) => {
                tracing::debug!("cannot read triggers: {e}");
                return;
            }
        };
        for trigger in triggers {
            let Some(state) = job_set.get(&trigger.job) else {
                continue;
            };
            let mut claim = self.ctx.claim_for(&state.job, trigger.requested_at);
            claim.manual = true;
            match self.ctx.runs.claim_trigger(&trigger, &claim).await {
                Ok(claimed) => {
                    self.ctx.count(&claimed);
                    if let Claimed::Run(run) = claimed {
                        tracing::info!(job = %run.job, "manual run claimed");
                        self.executor.spawn(run, Arc::new(state.job.clone()));
                    }
                }
                Err(e) => tracing::debug!(job = %trigger.job, "cannot claim a trigger: {e}"),
            }
        }
    }

    async fn adopt_orphans(&self, held: &[String], live: &[String], job_set: &JobSet) {
        if live.is_empty() {
            return;
        }
        let others: Vec<String> = live.iter().filter(|id| **id != self.ctx.replica_id).cloned().collect();
        let orphans = match self.ctx.runs.orphans(held, &others).await {
            Ok(orphans) => orphans,
            Err(e) => {
                tracing::debug!("cannot look for orphaned runs: {e}");
                return;
            }
        };
        for run in orphans {
            if run.replica == self.ctx.replica_id && run.claimed_at >= self.ctx.started {
                continue; // ours, in flight in this process
            }
            let Some(state) = job_set.get(&run.job) else { continue };
            match self.ctx.runs.adopt(&run, state.job.lock_key()).await {
                Ok(true) => {
                    tracing::info!(job = %run.job, run = run.id, from = %run.replica,
                        "adopted a run of a replica that is gone");
                    let mut adopted = run;
                    adopted.replica = self.ctx.replica_id.clone();
                    self.executor.spawn(adopted, Arc::new(state.job.clone()));
                }
                Ok(false) => {}
                Err(e) => tracing::debug!("cannot adopt run {}: {e}", run.id),
            }
        }
    }
}

#[cfg(test)]
mod tests;
