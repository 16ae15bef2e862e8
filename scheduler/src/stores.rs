//! [`Stores`]: the three stores a replica works with (jobs, runs, locks),
//! all from one backend: PostgreSQL when `database_url` is set, else a
//! private in-memory store (or, in tests, one replica of an in-memory
//! cluster).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use crate::Error;
use crate::clock::Clock;
use crate::config::SchedulerConfig;
use crate::jobs::JobStore;
use crate::lock::LockStore;
use crate::memory::{Memory, MemoryStore};
use crate::postgres::Pg;
use crate::runs::{PgRuns, RunStore};

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
    pub fn memory(store: Arc<MemoryStore>) -> Self {
        Self {
            jobs: store.clone(),
            runs: store.clone(),
            locks: store,
            pg: None,
        }
    }

    /// The task that keeps the PostgreSQL lock connection up until `stop`
    /// (none in memory, where the "connection" is never lost by itself).
    pub fn keep_lock_connection(
        &self,
        config: &SchedulerConfig,
        stop: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let pg = Arc::clone(self.pg.as_ref()?);
        // Reconnecting only after a few lock rounds lets the others see
        // this replica's locks free and take its jobs over.
        let min_backoff = config.lock_interval * 4;
        let max_backoff = config.replica_ttl.max(min_backoff);
        Some(async move { pg.keep_session(stop, min_backoff, max_backoff).await })
    }
}
