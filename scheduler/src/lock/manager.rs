//! [`LockManager`]: every `lock_interval`, heartbeat, look at who holds
//! which lock, and take or hand over locks as [`super::plan`] says; publish
//! the result as an [`Ownership`]. A new lock connection (or none) clears
//! the ownership at once: its locks went with the old connection.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{LockStore, Memory, Ownership, View, plan, preferred};
use crate::admin::Metrics;
use crate::config::SchedulerConfig;
use crate::jobs::JobSet;

/// Timings of the lock rounds.
#[derive(Debug, Clone, Copy)]
pub struct LockSettings {
    pub interval: Duration,
    pub replica_ttl: Duration,
    pub handover_grace: Duration,
}

pub struct LockManager {
    pub me: String,
    pub locks: Arc<dyn LockStore>,
    pub settings: LockSettings,
    pub metrics: Arc<Metrics>,
}

/// A [`LockManager`] at work: its task, and what it publishes.
pub struct Running {
    pub task: JoinHandle<()>,
    /// The jobs this replica holds.
    pub owned: watch::Receiver<Ownership>,
    /// The ids of the live replicas, as of the last round.
    pub live: watch::Receiver<Vec<String>>,
}

/// What one manager keeps between rounds.
struct State {
    ownership: Ownership,
    memory: Memory,
}

impl LockManager {
    /// The lock manager of the replica `config` describes.
    pub fn new(config: &SchedulerConfig, locks: Arc<dyn LockStore>, metrics: Arc<Metrics>) -> Self {
        Self {
            me: config.replica_id.clone(),
            locks,
            settings: LockSettings {
                interval: config.lock_interval,
                replica_ttl: config.replica_ttl,
                handover_grace: config.handover_grace,
            },
            metrics,
        }
    }

    /// [`run`](Self::run)s in a task of its own.
    pub fn spawn(
        self,
        jobs: watch::Receiver<Arc<JobSet>>,
        draining: watch::Receiver<bool>,
        stop: watch::Receiver<bool>,
    ) -> Running {
        let (owned_tx, owned) = watch::channel(Ownership::default());
        let (live_tx, live) = watch::channel(Vec::new());
        let task = tokio::spawn(self.run(jobs, owned_tx, live_tx, draining, stop));
        Running { task, owned, live }
    }

    /// Runs rounds until `stop` fires. `live` gets the live replica ids of
    /// each round. Once `draining` is set, every lock is let go and none is
    /// taken, but the heartbeat goes on, so that runs still in flight here
    /// are not adopted by others as a dead replica's.
    pub async fn run(
        self,
        jobs: watch::Receiver<Arc<JobSet>>,
        owned: watch::Sender<Ownership>,
        live: watch::Sender<Vec<String>>,
        draining: watch::Receiver<bool>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut sessions = self.locks.sessions();
        let mut ticks = tokio::time::interval(self.settings.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut state = State {
            ownership: Ownership::default(),
            memory: Memory::default(),
        };
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                changed = sessions.changed() => if changed.is_err() { return },
                _ = crate::stop::stopped(&mut stop) => break,
            }
            let epoch = *sessions.borrow_and_update();
            if epoch != state.ownership.epoch {
                // Every lock of the old connection is gone with it.
                state.ownership = Ownership {
                    epoch,
                    jobs: BTreeSet::new(),
                };
                state.memory = Memory::default();
                self.publish(&owned, &state.ownership, &jobs.borrow());
            }
            if epoch.is_none() {
                continue;
            }
            let mut job_set = Arc::clone(&jobs.borrow());
            if *draining.borrow() {
                job_set = Arc::new(JobSet::new());
            }
            match self.round(&job_set, &mut state, &live).await {
                Ok(()) => {}
                Err(e) => tracing::debug!("lock round failed: {e}"),
            }
            // Only publish ownership gained under the connection that is
            // still current.
            if *sessions.borrow() == state.ownership.epoch {
                self.publish(&owned, &state.ownership, &job_set);
            }
        }
        if let Err(e) = self.locks.leave().await {
            tracing::debug!("cannot leave the replica set: {e}");
        }
    }

    async fn round(
        &self,
        job_set: &JobSet,
        state: &mut State,
        live_tx: &watch::Sender<Vec<String>>,
    ) -> Result<(), crate::Error> {
        let live = self.locks.heartbeat(self.settings.replica_ttl).await?;
        live_tx.send_replace(live.iter().map(|r| r.id.clone()).collect());
        let jobs: Vec<(String, i64)> = job_set
            .values()
            .map(|s| (s.job.name.clone(), s.job.lock_key()))
            .collect();
        let keys: Vec<i64> = jobs.iter().map(|(_, k)| *k).collect();
        let holders = self.locks.holders(&keys).await?;
        let owned = &mut state.ownership.jobs;
        // Jobs gone from the store: let their locks go.
        let gone: Vec<String> = owned
            .iter()
            .filter(|name| !job_set.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            self.locks.unlock(crate::jobs::Job::lock_key_of(&name)).await?;
            owned.remove(&name);
        }
        // A lock we think we hold but the database does not show as ours.
        owned.retain(|name| {
            let key = crate::jobs::Job::lock_key_of(name);
            holders
                .get(&key)
                .is_some_and(|h| h.as_deref() == Some(self.me.as_str()))
        });
        let view = View {
            me: &self.me,
            live: &live,
            holders: &holders,
            handover_grace: self.settings.handover_grace,
            healthy_age: self.settings.interval * 4,
        };
        let owned_now: HashSet<String> = owned.iter().cloned().collect();
        let decided = plan(&view, &jobs, &owned_now, &mut state.memory);
        for name in decided.release {
            self.locks.unlock(crate::jobs::Job::lock_key_of(&name)).await?;
            owned.remove(&name);
            tracing::info!(job = %name, "handed over to its preferred replica");
        }
        for name in decided.acquire {
            if self.locks.try_lock(crate::jobs::Job::lock_key_of(&name)).await? {
                let mine = preferred(&name, &live).is_none_or(|p| p.id == self.me);
                if !mine {
                    let rounds =
                        (self.settings.handover_grace.as_millis() / self.settings.interval.as_millis().max(1)) as u32;
                    state.memory.took_over(&name, rounds.max(1) * 2);
                    tracing::info!(job = %name, "took over (its preferred replica did not)");
                }
                owned.insert(name);
            }
        }
        Ok(())
    }

    fn publish(&self, tx: &watch::Sender<Ownership>, ownership: &Ownership, job_set: &JobSet) {
        tx.send_if_modified(|current| {
            if current == ownership {
                return false;
            }
            *current = ownership.clone();
            true
        });
        let known: Vec<String> = job_set.keys().cloned().collect();
        self.metrics.owned(&known, &ownership.jobs);
        self.metrics.lock_connected.set(i64::from(ownership.epoch.is_some()));
    }
}
