//! [`LockStore`] in memory: locks belong to a replica's session epoch, as
//! PostgreSQL's belong to a connection.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::store::{LockStore, Replica};
use crate::Error;
use crate::memory::MemoryStore;

#[async_trait]
impl LockStore for MemoryStore {
    fn sessions(&self) -> watch::Receiver<Option<u64>> {
        self.sessions.subscribe()
    }

    async fn heartbeat(&self, ttl: Duration) -> Result<Vec<Replica>, Error> {
        let now = self.memory.clock.now();
        let mut state = self.memory.lock();
        if self.epoch(&state).is_none() {
            return Err(Error::LockConnectionLost);
        }
        if let Some(row) = state.replicas.get_mut(&self.replica_id) {
            row.heartbeat_at = now;
        }
        let age = |t: chrono::DateTime<chrono::Utc>| (now - t).to_std().unwrap_or_default();
        Ok(state
            .replicas
            .iter()
            .filter(|(_, r)| age(r.heartbeat_at) < ttl)
            .map(|(id, r)| Replica {
                id: id.clone(),
                connected_for: age(r.connected_at),
                heartbeat_age: age(r.heartbeat_at),
            })
            .collect())
    }

    async fn holders(&self, keys: &[i64]) -> Result<HashMap<i64, Option<String>>, Error> {
        let state = self.memory.lock();
        Ok(keys
            .iter()
            .filter_map(|k| state.locks.get(k).map(|(r, _)| (*k, Some(r.clone()))))
            .collect())
    }

    async fn try_lock(&self, key: i64) -> Result<bool, Error> {
        let mut state = self.memory.lock();
        let epoch = self.epoch(&state).ok_or(Error::LockConnectionLost)?;
        if state.locks.contains_key(&key) {
            return Ok(self.holds(&state, key));
        }
        state.locks.insert(key, (self.replica_id.clone(), epoch));
        Ok(true)
    }

    async fn unlock(&self, key: i64) -> Result<(), Error> {
        let mut state = self.memory.lock();
        if self.holds(&state, key) {
            state.locks.remove(&key);
        }
        Ok(())
    }

    async fn leave(&self) -> Result<(), Error> {
        self.cut();
        self.memory.lock().replicas.remove(&self.replica_id);
        Ok(())
    }
}
