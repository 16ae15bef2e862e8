//! PostgreSQL failures as [`StoreError`]s: a database that is away (no
//! connection, shutting down) is `Unavailable` (503), anything else is the
//! query's own error.

use flexcore_infra::postgres::deadpool_postgres::PoolError;
use flexcore_infra::postgres::tokio_postgres::{self, error::SqlState};

use super::StoreError;

/// A pool that cannot hand out a connection means the database is away.
pub(crate) fn pool_error(e: PoolError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A closed connection or an I/O failure means the database is away; any
/// other error is the query's own.
pub(crate) fn query_error(e: tokio_postgres::Error) -> StoreError {
    let unavailable = e.is_closed()
        || e.code().is_some_and(|c| {
            c == &SqlState::ADMIN_SHUTDOWN || c == &SqlState::CRASH_SHUTDOWN || c == &SqlState::CANNOT_CONNECT_NOW
        })
        || e.as_db_error().is_none();
    if unavailable {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Other(e.to_string())
    }
}
