//! The FlexCore scheduler: singleton timers, cluster-wide, on PostgreSQL
//! advisory locks with fencing; short jobs call gateway functions, long
//! workflows go to Windmill.
//!
//! Layout, by feature:
//! - [`config`]: [`SchedulerConfig`], from file, environment and flags;
//! - [`jobs`]: jobs (spec, validation, schedules) and the [`jobs::JobStore`];
//! - [`runs`]: run history and the fenced claim ([`runs::RunStore`]);
//! - [`lock`]: membership, advisory locks, and how jobs spread over replicas;
//! - [`fire`]: tickers that claim ticks, and the executor that runs them;
//! - [`targets`]: gateway functions and Windmill;
//! - [`admin`]: `/health` and `/metrics` on the admin port;
//! - [`cli`]: the `jobs` and `runs` commands;
//! - [`postgres`] and [`memory`]: the two backends each store trait has;
//! - [`clock`]: wall-clock time that tests can pause.
//!
//! [`Scheduler`] is the composition root: it builds everything from a config
//! and a bound admin listener and runs until a shutdown future resolves;
//! `main.rs` and the tests start it the same way.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
mod error;
pub mod fire;
pub mod jobs;
pub mod lock;
pub mod memory;
pub mod postgres;
pub mod runs;
pub mod targets;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::SchedulerConfig;
pub use error::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::Metrics;
use crate::clock::Clock;
use crate::fire::{Context, Executor, JobSet, Supervisor};
use crate::jobs::JobStore;
use crate::lock::manager::LockSettings;
use crate::lock::{LockManager, LockStore, Ownership};
use crate::memory::Memory;
use crate::postgres::Pg;
use crate::runs::{PgRuns, RunStore};
use crate::targets::{FunctionTargets, Nodes, Targets, WindmillTargets};

/// The stores of one replica.
#[derive(Clone)]
pub struct Stores {
    pub jobs: Arc<dyn JobStore>,
    pub runs: Arc<dyn RunStore>,
    pub locks: Arc<dyn LockStore>,
    /// The PostgreSQL backend, whose lock connection must be kept.
    pub pg: Option<Arc<Pg>>,
}

impl Stores {
    /// PostgreSQL when `database_url` is set, else a private in-memory store.
    pub async fn open(config: &SchedulerConfig) -> Result<Self, Error> {
        match &config.database_url {
            Some(url) => {
                let pg = Arc::new(Pg::connect(url, config.database_pool_size, &config.replica_id).await?);
                Ok(Self {
                    jobs: pg.clone(),
                    runs: Arc::new(PgRuns::new(pg.clone())),
                    locks: pg.clone(),
                    pg: Some(pg),
                })
            }
            None => {
                let store = Arc::new(Memory::new(Clock::System).replica(&config.replica_id));
                Ok(Self::memory(store))
            }
        }
    }

    /// One replica of an in-memory cluster.
    pub fn memory(store: Arc<memory::MemoryStore>) -> Self {
        Self {
            jobs: store.clone(),
            runs: store.clone(),
            locks: store,
            pg: None,
        }
    }
}

/// A scheduler replica, built and bound, ready to run.
pub struct Scheduler {
    config: SchedulerConfig,
    listener: TcpListener,
    stores: Stores,
    targets: Targets,
    clock: Clock,
}

impl Scheduler {
    /// Builds a replica from `config`: opens the stores (running migrations),
    /// syncs the file's jobs into them, and makes the targets' clients.
    pub async fn build(config: SchedulerConfig, listener: TcpListener) -> Result<Self, Error> {
        let stores = Stores::open(&config).await?;
        Self::with_stores(config, listener, stores, Clock::System).await
    }

    /// As [`build`](Self::build), with given stores and clock (tests).
    pub async fn with_stores(
        config: SchedulerConfig,
        listener: TcpListener,
        stores: Stores,
        clock: Clock,
    ) -> Result<Self, Error> {
        config.validate()?;
        stores.jobs.sync_config(&config.jobs).await?;
        let targets = targets_of(&config)?;
        Ok(Self {
            config,
            listener,
            stores,
            targets,
            clock,
        })
    }

    /// The admin port's address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listener.local_addr()?)
    }

    /// Runs until `shutdown` resolves; then stops firing, lets go of every
    /// lock, waits for the runs in flight (up to `shutdown_grace`), and
    /// leaves the replica set.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Self {
            config,
            listener,
            stores,
            targets,
            clock,
        } = self;
        let metrics = Arc::new(Metrics::new());
        let (stop_firing, firing_stopped) = watch::channel(false);
        let (stop_all, all_stopped) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();

        if let Some(pg) = &stores.pg {
            let pg = Arc::clone(pg);
            let stop = all_stopped.clone();
            // Reconnecting only after a few lock rounds lets the others see
            // this replica's locks free and take its jobs over.
            let min_backoff = config.lock_interval * 4;
            let max_backoff = config.replica_ttl.max(min_backoff);
            tasks.spawn(async move { pg.keep_session(stop, min_backoff, max_backoff).await });
        }
        if let (Some(windmill), Some(w)) = (&targets.windmill, &config.windmill)
            && w.create_system_workflows
        {
            let client = windmill.client.clone();
            let stop = all_stopped.clone();
            tasks.spawn(targets::system::ensure_in_background(client, stop));
        }

        let (jobs_tx, jobs_rx) = watch::channel(Arc::new(JobSet::new()));
        refresh_jobs(stores.jobs.as_ref(), &jobs_tx).await;
        tasks.spawn(keep_jobs_fresh(
            Arc::clone(&stores.jobs),
            jobs_tx,
            config.jobs_refresh,
            all_stopped.clone(),
        ));
        tasks.spawn(prune(
            Arc::clone(&stores.runs),
            clock,
            config.retention,
            all_stopped.clone(),
        ));

        let (owned_tx, owned_rx) = watch::channel(Ownership::default());
        let (live_tx, live_rx) = watch::channel(Vec::new());
        let manager = LockManager {
            me: config.replica_id.clone(),
            locks: Arc::clone(&stores.locks),
            settings: LockSettings {
                interval: config.lock_interval,
                replica_ttl: config.replica_ttl,
                handover_grace: config.handover_grace,
            },
            metrics: Arc::clone(&metrics),
        };
        let manager = tokio::spawn(manager.run(
            jobs_rx.clone(),
            owned_tx,
            live_tx,
            firing_stopped.clone(),
            all_stopped.clone(),
        ));

        let ctx = Arc::new(Context {
            replica_id: config.replica_id.clone(),
            clock,
            jobs: Arc::clone(&stores.jobs),
            runs: Arc::clone(&stores.runs),
            locks: Arc::clone(&stores.locks),
            targets,
            metrics: Arc::clone(&metrics),
            poll_interval: config.lock_interval,
            claim_ahead: config.claim_ahead,
            started: clock.now(),
        });
        let executor = Executor::new(Arc::clone(&ctx));
        let supervisor = Supervisor {
            ctx,
            executor: executor.clone(),
        };
        let supervisor = tokio::spawn(supervisor.run(jobs_rx, owned_rx.clone(), live_rx, firing_stopped));

        let health = admin::Health {
            replica_id: config.replica_id.clone(),
            ownership: owned_rx,
            metrics,
            database: stores.pg.is_some(),
        };
        tasks.spawn(admin::serve(listener, health, all_stopped));
        tracing::info!(replica = %config.replica_id, jobs = config.jobs.len(), "scheduler running");

        shutdown.await;
        tracing::info!("stopping: no new ticks; finishing the runs in flight");
        stop_firing.send_replace(true);
        let _ = supervisor.await;
        executor.drain(config.shutdown_grace).await;
        stop_all.send_replace(true);
        let _ = manager.await;
        while tasks.join_next().await.is_some() {}
        tracing::info!("scheduler stopped");
        Ok(())
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Builds and runs a replica: the one-call form of [`Scheduler`].
pub async fn run(
    config: SchedulerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    Scheduler::build(config, listener).await?.run(shutdown).await
}

fn targets_of(config: &SchedulerConfig) -> Result<Targets, Error> {
    let windmill = match config.windmill_settings() {
        Some(settings) => {
            let client = flexcore_infra::windmill::WindmillClient::new(&settings)?;
            Some(Arc::new(WindmillTargets::new(client)))
        }
        None => None,
    };
    let nodes = match &config.redis_url {
        Some(url) => Some(Nodes::redis(url, &config.redis_prefix, config.gateway.node_ttl)?),
        None if !config.gateway.nodes.is_empty() => Some(Nodes::Static(
            config
                .gateway
                .nodes
                .iter()
                .map(|n| n.trim_end_matches('/').to_owned())
                .collect(),
        )),
        None => None,
    };
    let functions = match nodes {
        Some(nodes) => Some(Arc::new(FunctionTargets::new(nodes, config.gateway.token.clone())?)),
        None => None,
    };
    Ok(Targets { functions, windmill })
}

async fn refresh_jobs(store: &dyn JobStore, tx: &watch::Sender<Arc<JobSet>>) {
    match store.list().await {
        Ok(records) => {
            let set: JobSet = jobs::store::validated(&records)
                .into_iter()
                .map(|s| (s.job.name.clone(), s))
                .collect::<BTreeMap<_, _>>();
            tx.send_if_modified(|current| {
                if **current == set {
                    return false;
                }
                *current = Arc::new(set);
                true
            });
        }
        Err(e) => tracing::debug!("cannot read the jobs: {e}"),
    }
}

async fn keep_jobs_fresh(
    store: Arc<dyn JobStore>,
    tx: watch::Sender<Arc<JobSet>>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => refresh_jobs(store.as_ref(), &tx).await,
            _ = crate::stopped(&mut stop) => return,
        }
    }
}

async fn prune(runs: Arc<dyn RunStore>, clock: Clock, retention: Duration, mut stop: watch::Receiver<bool>) {
    let window = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = crate::stopped(&mut stop) => return,
        }
        let Some(before) = clock.now().checked_sub_signed(window) else {
            continue;
        };
        match runs.prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned old runs"),
            Err(e) => tracing::debug!("cannot prune runs: {e}"),
        }
    }
}
