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
//! - [`clock`]: wall-clock time that tests can pause;
//! - `stop`: the two stages of stopping a replica (firing, then all).
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
use tokio::task::JoinSet;

use crate::admin::{Health, Metrics};
use crate::clock::Clock;
use crate::fire::{Context, Supervisor};
use crate::jobs::refresh::watch_jobs;
use crate::lock::LockManager;
use crate::runs::prune::keep_pruning;
use crate::stop::Stages;
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
        let stages = Stages::new();
        let metrics = Arc::new(Metrics::new());
        let mut chores = JoinSet::new();

        // Chores, until everything stops (the first two only where configured).
        chores.extend(stores.keep_lock_connection(&config, stages.all()));
        chores.extend(targets.create_system_workflows(&config, stages.all()));
        let (jobs, keep_jobs_fresh) = watch_jobs(Arc::clone(&stores.jobs), config.jobs_refresh, stages.all()).await;
        chores.spawn(keep_jobs_fresh);
        chores.spawn(keep_pruning(
            Arc::clone(&stores.runs),
            clock,
            config.retention,
            stages.all(),
        ));

        // Locks, and the firing of the jobs they give this replica.
        let manager = LockManager::new(&config, Arc::clone(&stores.locks), Arc::clone(&metrics));
        let locks = manager.spawn(jobs.clone(), stages.firing(), stages.all());
        let ctx = Context::new(&config, &stores, targets, Arc::clone(&metrics), clock);
        let (owned, live) = (locks.owned.clone(), locks.live.clone());
        let (supervisor, executor) = Supervisor::spawn(Arc::new(ctx), jobs, owned, live, stages.firing());

        // The admin port, until everything stops.
        let health = Health {
            replica_id: config.replica_id.clone(),
            ownership: locks.owned.clone(),
            metrics,
            database: stores.pg.is_some(),
        };
        chores.spawn(admin::serve(listener, health, stages.all()));
        tracing::info!(replica = %config.replica_id, jobs = config.jobs.len(), "scheduler running");

        shutdown.await;
        tracing::info!("stopping: no new ticks; finishing the runs in flight");
        stages.stop_firing();
        let _ = supervisor.await;
        executor.drain(config.shutdown_grace).await;
        stages.stop_all();
        let _ = locks.task.await;
        while chores.join_next().await.is_some() {}
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
