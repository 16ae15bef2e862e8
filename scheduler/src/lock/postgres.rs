//! [`LockStore`] in PostgreSQL: `scheduler_replicas` for membership, session
//! advisory locks on the lock connection, `pg_locks` to see who holds what.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::store::{LockStore, Replica};
use crate::Error;
use crate::postgres::Pg;

fn millis(value: f64) -> Duration {
    Duration::from_millis(value.max(0.0) as u64)
}

#[async_trait]
impl LockStore for Pg {
    fn sessions(&self) -> watch::Receiver<Option<u64>> {
        self.epochs.subscribe()
    }

    async fn heartbeat(&self, ttl: Duration) -> Result<Vec<Replica>, Error> {
        let session = self.session().ok_or(Error::LockConnectionLost)?;
        // On the lock connection: a replica whose lock connection is down
        // stops heartbeating, and its `lock_pid` is the holder of its locks.
        session
            .client
            .execute(
                "INSERT INTO scheduler_replicas (id, lock_pid, connected_at, heartbeat_at, version)
                 VALUES ($1, pg_backend_pid(), $2, now(), $3)
                 ON CONFLICT (id) DO UPDATE SET lock_pid = EXCLUDED.lock_pid,
                     connected_at = EXCLUDED.connected_at, heartbeat_at = now(),
                     version = EXCLUDED.version",
                &[&self.replica_id, &session.connected_at, &env!("CARGO_PKG_VERSION")],
            )
            .await?;
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let rows = session
            .client
            .query(
                "SELECT id,
                        (extract(epoch FROM now() - connected_at) * 1000)::float8,
                        (extract(epoch FROM now() - heartbeat_at) * 1000)::float8
                 FROM scheduler_replicas
                 WHERE heartbeat_at > now() - $1 * interval '1 millisecond'
                 ORDER BY id",
                &[&(ttl_ms as f64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Replica {
                    id: r.try_get(0)?,
                    connected_for: millis(r.try_get(1)?),
                    heartbeat_age: millis(r.try_get(2)?),
                })
            })
            .collect()
    }

    async fn holders(&self, keys: &[i64]) -> Result<HashMap<i64, Option<String>>, Error> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT l.classid::bigint, l.objid::bigint, r.id
                 FROM pg_locks l LEFT JOIN scheduler_replicas r ON r.lock_pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await?;
        let mut holders = HashMap::new();
        for row in rows {
            let hi: i64 = row.try_get(0)?;
            let lo: i64 = row.try_get(1)?;
            let key = (((hi as u64) << 32) | (lo as u64 & 0xffff_ffff)) as i64;
            if keys.contains(&key) {
                holders.insert(key, row.try_get(2)?);
            }
        }
        Ok(holders)
    }

    async fn try_lock(&self, key: i64) -> Result<bool, Error> {
        let session = self.session().ok_or(Error::LockConnectionLost)?;
        let row = session
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn unlock(&self, key: i64) -> Result<(), Error> {
        let session = self.session().ok_or(Error::LockConnectionLost)?;
        session.client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await?;
        Ok(())
    }

    async fn leave(&self) -> Result<(), Error> {
        self.client()
            .await?
            .execute("DELETE FROM scheduler_replicas WHERE id = $1", &[&self.replica_id])
            .await?;
        Ok(())
    }
}
