//! [`LockStore`]: membership (heartbeats) and advisory locks, over the
//! replica's lock connection.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::Error;

/// A live replica, with ages measured on the database's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub id: String,
    /// Since its lock connection was made.
    pub connected_for: Duration,
    /// Since its last heartbeat.
    pub heartbeat_age: Duration,
}

#[async_trait]
pub trait LockStore: Send + Sync {
    /// The epoch of the current lock connection, `None` while it is down. A
    /// new epoch means a new connection: every lock held before is gone.
    fn sessions(&self) -> watch::Receiver<Option<u64>>;

    /// Records this replica's heartbeat (on the lock connection) and returns
    /// the replicas whose heartbeat is younger than `ttl`.
    async fn heartbeat(&self, ttl: Duration) -> Result<Vec<Replica>, Error>;

    /// Which of `keys` are held, and by which replica.
    async fn holders(&self, keys: &[i64]) -> Result<HashMap<i64, Option<String>>, Error>;

    /// Takes the lock `key` if it is free (on the lock connection).
    async fn try_lock(&self, key: i64) -> Result<bool, Error>;

    /// Releases the lock `key`.
    async fn unlock(&self, key: i64) -> Result<(), Error>;

    /// Removes this replica from the live set (graceful shutdown), so that
    /// its jobs are taken over at once.
    async fn leave(&self) -> Result<(), Error>;
}
