//! What every feature's stores share: the error they all return, how a
//! PostgreSQL failure becomes one, and the choice of stores at start-up.
//!
//! - [`StoreError`]: why a store operation failed;
//! - `postgres`: PostgreSQL and pool errors as [`StoreError`]s;
//! - `stores`: [`Stores`](stores::Stores), memory or PostgreSQL, opened once.
//!
//! Each feature keeps its own SQL (`pipelines/store`, `catalog`,
//! `events/subscriptions`); only the plumbing lives here.

pub(crate) mod postgres;
pub(crate) mod stores;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a pipeline named '{0}' already exists")]
    NameTaken(String),
    #[error("the pipeline changed since version {expected}")]
    VersionConflict { expected: u64 },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}
