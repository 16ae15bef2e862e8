//! Membership: each node writes a heartbeat (who it is, where, what it
//! serves, how loaded it is) into Redis with a TTL; the live set is whoever
//! heartbeated within the TTL. A clean shutdown removes the node at once.

use std::time::Duration;

use flexcore_infra::cluster::Member;
use flexcore_infra::redis::{RedisPool, redis};

use super::keys::Keys;
use crate::clock::unix_ms;

/// Reads and writes membership records.
#[derive(Clone)]
pub struct Membership {
    pool: RedisPool,
    keys: Keys,
    ttl: Duration,
}

impl Membership {
    pub fn new(pool: RedisPool, keys: Keys, ttl: Duration) -> Self {
        Self { pool, keys, ttl }
    }

    /// Writes one heartbeat; when `leader`, also renews the leader key.
    pub async fn beat(&self, member: &Member, leader: bool) -> Result<(), redis::RedisError> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        let json = serde_json::to_string(member).map_err(|e| redis::RedisError::from(std::io::Error::other(e)))?;
        let ttl_ms = self.ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.keys.node(&member.node_id))
            .arg(json)
            .arg("PX")
            .arg(ttl_ms)
            .ignore();
        pipe.cmd("ZADD")
            .arg(self.keys.nodes())
            .arg(member.heartbeat_unix_ms)
            .arg(&member.node_id)
            .ignore();
        if leader {
            pipe.cmd("SET")
                .arg(self.keys.leader())
                .arg(&member.node_id)
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        pipe.query_async::<()>(&mut *conn).await
    }

    /// The live members, by node id.
    pub async fn live(&self) -> Result<(Vec<Member>, Option<String>), redis::RedisError> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        let since = unix_ms().saturating_sub(self.ttl.as_millis() as u64);
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.keys.nodes())
            .arg(since)
            .arg("+inf")
            .query_async(&mut *conn)
            .await?;
        let leader: Option<String> = redis::cmd("GET")
            .arg(self.keys.leader())
            .query_async(&mut *conn)
            .await?;
        if ids.is_empty() {
            return Ok((vec![], leader));
        }
        let keys: Vec<String> = ids.iter().map(|id| self.keys.node(id)).collect();
        let records: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut *conn).await?;
        let mut members: Vec<Member> = records
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect();
        members.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        Ok((members, leader))
    }

    /// Removes `node_id` at once (clean shutdown), and its leader key if it holds it.
    pub async fn leave(&self, node_id: &str) -> Result<(), redis::RedisError> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        let leader: Option<String> = redis::cmd("GET")
            .arg(self.keys.leader())
            .query_async(&mut *conn)
            .await?;
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(self.keys.nodes()).arg(node_id).ignore();
        pipe.cmd("DEL").arg(self.keys.node(node_id)).ignore();
        if leader.as_deref() == Some(node_id) {
            pipe.cmd("DEL").arg(self.keys.leader()).ignore();
        }
        pipe.query_async::<()>(&mut *conn).await
    }

    /// Forgets members whose heartbeat is older than the TTL (a leader's chore).
    pub async fn prune(&self) -> Result<u64, redis::RedisError> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        let before = unix_ms().saturating_sub(self.ttl.as_millis() as u64);
        redis::cmd("ZREMRANGEBYSCORE")
            .arg(self.keys.nodes())
            .arg("-inf")
            .arg(format!("({before}"))
            .query_async(&mut *conn)
            .await
    }

    /// Marks `node_id` as leader right away (not only at its next heartbeat).
    pub async fn claim_leader(&self, node_id: &str) -> Result<(), redis::RedisError> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        redis::cmd("SET")
            .arg(self.keys.leader())
            .arg(node_id)
            .arg("PX")
            .arg(self.ttl.as_millis() as u64)
            .query_async(&mut *conn)
            .await
    }

    /// Drops the leader key if `node_id` holds it (stepping down).
    pub async fn release_leader(&self, node_id: &str) -> Result<(), redis::RedisError> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        let leader: Option<String> = redis::cmd("GET")
            .arg(self.keys.leader())
            .query_async(&mut *conn)
            .await?;
        if leader.as_deref() == Some(node_id) {
            redis::cmd("DEL")
                .arg(self.keys.leader())
                .query_async::<()>(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

pub(crate) fn pool_error(e: flexcore_infra::redis::bb8::RunError<redis::RedisError>) -> redis::RedisError {
    match e {
        flexcore_infra::redis::bb8::RunError::User(e) => e,
        flexcore_infra::redis::bb8::RunError::TimedOut => redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no Redis connection in time",
        )),
    }
}
