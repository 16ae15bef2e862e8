//! Redis plumbing: a `bb8` pool of multiplexed connections for ordinary
//! commands, and dedicated connections for blocking reads (a blocking
//! `XREADGROUP` would hold up every command pipelined behind it).

use std::time::Duration;

pub use bb8;
pub use bb8_redis::RedisConnectionManager;
pub use redis;

/// A pool of Redis connections; each is checked with `PING` when taken, so
/// connections broken by a Redis restart are replaced by themselves.
pub type RedisPool = bb8::Pool<RedisConnectionManager>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a pool without connecting yet: a Redis that is down at start-up is
/// an error of the first command, not of the process.
pub fn pool(url: &str, max_size: u32) -> Result<RedisPool, redis::RedisError> {
    let manager = RedisConnectionManager::new(url)?;
    Ok(bb8::Pool::builder()
        .max_size(max_size)
        .connection_timeout(CONNECT_TIMEOUT)
        .test_on_check_out(true)
        .build_unchecked(manager))
}

/// A connection of its own, for a blocking read loop.
pub async fn dedicated(url: &str) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None);
    client.get_multiplexed_async_connection_with_config(&config).await
}
