//! PostgreSQL plumbing: a connection pool for ordinary queries, dedicated
//! connections for session-level advisory locks, the fixed hash that names
//! those locks, and migrations that several processes may run at once.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Client, NoTls};

pub use deadpool_postgres;
pub use refinery;
pub use tokio_postgres;

/// Why a PostgreSQL operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("invalid database URL: {0}")]
    Url(tokio_postgres::Error),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    #[error("database unavailable: {0}")]
    Connect(tokio_postgres::Error),
    #[error("database error: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migrate(String),
}

/// How long connecting may take, and how fast a dead peer is noticed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(1);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_RETRIES: u32 = 2;
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(3);

/// Parses `url` and sets timeouts and TCP keepalive, so that a connection to
/// a dead server (or from a dead client, for the server) fails in seconds.
pub fn config(url: &str) -> Result<tokio_postgres::Config, PgError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(PgError::Url)?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES)
        .tcp_user_timeout(TCP_USER_TIMEOUT);
    Ok(config)
}

/// A pool for ordinary queries. Connections are made lazily and checked on
/// reuse, so a restarted server is picked up without a restart of ours.
pub fn pool(url: &str, max_size: usize) -> Result<Pool, PgError> {
    let manager = Manager::from_config(
        config(url)?,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| PgError::Pool(e.to_string()))
}

/// A connection of its own, outside any pool: for session advisory locks,
/// which belong to the connection that took them. The returned task drives
/// the connection; it ends (and the client fails) when the connection dies.
pub async fn dedicated(url: &str) -> Result<(Client, tokio::task::JoinHandle<()>), PgError> {
    let (client, connection) = config(url)?.connect(NoTls).await.map_err(PgError::Connect)?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("dedicated database connection ended: {e}");
        }
    });
    Ok((client, driver))
}

/// The advisory lock key for `name`: FNV-1a, 64 bits, as a signed integer.
/// Fixed forever: every process and version derives the same key.
pub const fn lock_key(name: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = name.as_bytes();
    let mut hash = OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(PRIME);
        i += 1;
    }
    hash as i64
}

/// Runs `runner`'s migrations, recording them in `table`, while holding the
/// advisory lock named `lock_name`, so that processes starting at once apply
/// each migration exactly once.
pub async fn migrate(url: &str, mut runner: refinery::Runner, table: &str, lock_name: &str) -> Result<(), PgError> {
    let (mut client, driver) = dedicated(url).await?;
    let key = lock_key(lock_name);
    client.execute("SELECT pg_advisory_lock($1)", &[&key]).await?;
    runner.set_migration_table_name(table);
    let result = runner
        .run_async(&mut client)
        .await
        .map_err(|e| PgError::Migrate(e.to_string()));
    // Closing the connection releases the lock even if the unlock fails.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await;
    drop(client);
    driver.abort();
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_fixed() {
        // FNV-1a 64 test vectors.
        assert_eq!(lock_key("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(lock_key("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(lock_key("foobar") as u64, 0x8594_4171_f739_67e8);
    }
}
