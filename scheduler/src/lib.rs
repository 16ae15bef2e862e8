//! The FlexCore scheduler: singleton timers, cluster-wide, on PostgreSQL
//! advisory locks with fencing; short jobs call gateway functions, long
//! workflows go to Windmill.
//!
//! Layout, by feature:
//! - [`config`]: [`SchedulerConfig`], from file, environment and flags;
//! - [`jobs`]: jobs (spec, validation, schedules), the [`jobs::JobStore`],
//!   and the job set each replica follows;
//! - [`runs`]: run history, the fenced claim ([`runs::RunStore`]), pruning;
//! - [`lock`]: membership, advisory locks, and how jobs spread over replicas;
//! - [`fire`]: tickers that claim ticks, and the executor that runs them;
//! - [`targets`]: gateway functions and Windmill;
//! - [`admin`]: `/health` and `/metrics` on the admin port;
//! - [`cli`]: the `jobs` and `runs` commands;
//! - [`postgres`] and [`memory`]: the two backends each store trait has,
//!   brought together for a replica as [`Stores`];
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
mod stop;
mod stores;
pub mod targets;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::SchedulerConfig;
pub use error::Error;
pub use stores::Stores;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::Metrics;
use crate::clock::Clock;
use crate::fire::{Context, Executor, Supervisor};
use crate::jobs::refresh::watch_jobs;
use crate::lock::manager::LockSettings;
use crate::lock::{LockManager, Ownership};
use crate::runs::prune::keep_pruning;
use crate::targets::Targets;

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
        let targets = Targets::from_config(&config)?;
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

        let (jobs_rx, keep_jobs_fresh) =
            watch_jobs(Arc::clone(&stores.jobs), config.jobs_refresh, all_stopped.clone()).await;
        tasks.spawn(keep_jobs_fresh);
        tasks.spawn(keep_pruning(
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

/// Builds and runs a replica: the one-call form of [`Scheduler`].
pub async fn run(
    config: SchedulerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    Scheduler::build(config, listener).await?.run(shutdown).await
}
