//! [`Pg`]: the scheduler's PostgreSQL: a pool for ordinary queries, and the
//! replica's dedicated *lock connection* (keepalive and `tcp_user_timeout`
//! set), on which advisory locks are taken and ticks are claimed.
//!
//! The lock connection is kept by [`Pg::keep_session`]: when it dies (the
//! server went away, or `pg_terminate_backend` ended it) every advisory
//! lock it held is gone, [`Pg::sessions`] publishes `None` at once (the fire
//! loop stops claiming), and a new connection is made with backoff. Each
//! connection is a new [`Session`], with its own epoch.
//!
//! The SQL of each feature lives with it: the job and lock stores are
//! implemented on [`Pg`] itself (`jobs/postgres.rs`, `lock/postgres.rs`); the
//! run store is a type of its own on it (`runs/postgres.rs`), which owns the
//! task that batches claims. The schema files next to them are the
//! migrations, run here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use flexcore_infra::Secret;
use flexcore_infra::postgres::deadpool_postgres::{Object, Pool};
use flexcore_infra::postgres::refinery::{Migration, Runner};
use flexcore_infra::postgres::{self, PgError};
use tokio::sync::watch;
use tokio_postgres::Client;

use crate::Error;

/// One life of the lock connection.
pub struct Session {
    pub client: Client,
    /// The connection's backend pid: the holder of its advisory locks.
    pub pid: i32,
    /// Increases with every new connection of this process.
    pub epoch: u64,
    pub connected_at: DateTime<Utc>,
}

/// The scheduler's database.
pub struct Pg {
    pool: Pool,
    url: Secret,
    pub(crate) replica_id: String,
    sessions: watch::Sender<Option<Arc<Session>>>,
    /// The epoch of `sessions`, for those that only need to see changes.
    pub(crate) epochs: watch::Sender<Option<u64>>,
    next_epoch: AtomicU64,
}

/// The migrations, in order: each feature's schema.
const MIGRATIONS: [(&str, &str); 3] = [
    ("V1__jobs", include_str!("jobs/schema.sql")),
    ("V2__runs", include_str!("runs/schema.sql")),
    ("V3__replicas", include_str!("lock/schema.sql")),
];

impl Pg {
    /// Runs the migrations (under an advisory lock, so replicas starting
    /// together apply each once) and builds the pool. The lock connection is
    /// made by [`keep_session`](Self::keep_session).
    pub async fn connect(url: &Secret, pool_size: usize, replica_id: &str) -> Result<Self, Error> {
        migrate(url).await?;
        let pool = postgres::pool(url.expose(), pool_size)?;
        Ok(Self {
            pool,
            url: url.clone(),
            replica_id: replica_id.to_owned(),
            sessions: watch::channel(None).0,
            epochs: watch::channel(None).0,
            next_epoch: AtomicU64::new(0),
        })
    }

    /// A pooled connection, for queries that need no lock.
    pub async fn client(&self) -> Result<Object, Error> {
        Ok(self.pool.get().await?)
    }

    /// Runs `sql` on a pooled connection as a statement prepared once per
    /// connection (for the statements of every run).
    pub async fn execute_cached(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, Error> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.execute(&statement, params).await?)
    }

    /// The current lock connection, if it is up.
    pub fn session(&self) -> Option<Arc<Session>> {
        self.sessions.borrow().clone()
    }

    /// Follows the lock connection: `None` while it is down.
    pub fn sessions(&self) -> watch::Receiver<Option<Arc<Session>>> {
        self.sessions.subscribe()
    }

    /// Keeps a lock connection up until `stop` fires: connects (retrying with
    /// backoff from `min_backoff` up to `max_backoff`), publishes it, and when
    /// it dies publishes `None` at once and starts again after `min_backoff`
    /// (long enough for the other replicas to take this one's jobs).
    pub async fn keep_session(&self, mut stop: watch::Receiver<bool>, min_backoff: Duration, max_backoff: Duration) {
        let mut backoff = min_backoff;
        while !*stop.borrow() {
            match self.open_session().await {
                Ok((session, driver)) => {
                    backoff = min_backoff;
                    tracing::info!(pid = session.pid, epoch = session.epoch, "lock connection up");
                    let epoch = session.epoch;
                    self.sessions.send_replace(Some(session));
                    self.epochs.send_replace(Some(epoch));
                    let mut driver = driver;
                    tokio::select! {
                        _ = &mut driver => tracing::warn!("lock connection lost: its advisory locks are gone"),
                        _ = crate::stop::stopped(&mut stop) => {
                            // Closing the connection releases every lock now.
                            driver.abort();
                        }
                    }
                    self.epochs.send_replace(None);
                    self.sessions.send_replace(None);
                }
                Err(e) => tracing::warn!("cannot open the lock connection: {e}"),
            }
            // Wait before reconnecting, so that a cut replica's jobs move
            // (and a flapping database is not hammered).
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = crate::stop::stopped(&mut stop) => {}
            }
            backoff = (backoff * 2).min(max_backoff);
        }
        self.epochs.send_replace(None);
        self.sessions.send_replace(None);
    }

    async fn open_session(&self) -> Result<(Arc<Session>, tokio::task::JoinHandle<()>), Error> {
        let (client, driver) = postgres::dedicated(self.url.expose()).await?;
        let row = client.query_one("SELECT pg_backend_pid(), now()", &[]).await?;
        let session = Session {
            client,
            pid: row.get(0),
            epoch: self.next_epoch.fetch_add(1, Ordering::Relaxed) + 1,
            connected_at: row.get(1),
        };
        Ok((Arc::new(session), driver))
    }
}

async fn migrate(url: &Secret) -> Result<(), PgError> {
    let migrations = MIGRATIONS
        .iter()
        .map(|(name, sql)| Migration::unapplied(name, sql))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PgError::Migrate(e.to_string()))?;
    postgres::migrate(
        url.expose(),
        Runner::new(&migrations),
        "scheduler_migrations",
        "flexcore-scheduler/migrations",
    )
    .await
}
