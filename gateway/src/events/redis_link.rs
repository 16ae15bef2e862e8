//! [`RedisLink`]: one multiplexed Redis connection that every task of the
//! event hot paths (publishing, acknowledging) pipelines its commands on.
//!
//! The pool checks each connection with a `PING` when it is taken, which
//! would double the round trips of a publish or an ack; a multiplexed
//! connection needs no checkout at all. It is opened through the pool's
//! manager (same URL and settings), and dropped after an error that says it
//! is broken or stuck, so that the next command opens a fresh one: a Redis
//! restart costs the commands in flight, not the link.

use flexcore_infra::redis::RedisPool;
use flexcore_infra::redis::redis::RedisError;
use flexcore_infra::redis::redis::aio::MultiplexedConnection;

pub struct RedisLink {
    pool: RedisPool,
    current: std::sync::Mutex<Option<MultiplexedConnection>>,
    /// Held while opening, so that a burst of commands opens one connection.
    opening: tokio::sync::Mutex<()>,
}

impl RedisLink {
    pub fn new(pool: RedisPool) -> Self {
        Self {
            pool,
            current: std::sync::Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// The connection, opened if there is none.
    pub async fn get(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let _opening = self.opening.lock().await;
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let conn = self.pool.dedicated_connection().await?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
        Ok(conn)
    }

    /// Tells the link about a failed command: a connection that is gone or
    /// does not answer is dropped.
    pub fn failed(&self, error: &RedisError) {
        if error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_timeout()
            || error.is_unrecoverable_error()
        {
            *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    fn current(&self) -> Option<MultiplexedConnection> {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
