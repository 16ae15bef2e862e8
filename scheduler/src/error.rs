//! The scheduler's one error type.

use flexcore_infra::ConfigError;
use flexcore_infra::postgres::PgError;
use flexcore_infra::windmill::WindmillError;

/// Everything that can go wrong in the scheduler. Messages name the job,
/// key or service concerned and never carry a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    /// A query failed; the text carries the server's message.
    #[error("database error: {0}")]
    Database(String),
    /// The dedicated lock connection is down: nothing can be claimed.
    #[error("the lock connection to the database is down")]
    LockConnectionLost,
    /// The command needs the database, and none is configured.
    #[error("no database is configured (set `database_url` or FLEXCORE_DATABASE_URL)")]
    NoDatabase,
    #[error("no job named '{0}'")]
    UnknownJob(String),
    #[error("job '{job}' is invalid: {message}")]
    InvalidJob { job: String, message: String },
    #[error(transparent)]
    Windmill(#[from] WindmillError),
    #[error("redis: {0}")]
    Redis(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        // tokio-postgres's own text is only "db error"; the server's message
        // says what went wrong (it never holds the password).
        match e.as_db_error() {
            Some(db) => Self::Database(format!("{} ({})", db.message(), db.code().code())),
            None => Self::Database(e.to_string()),
        }
    }
}

impl From<flexcore_infra::postgres::deadpool_postgres::PoolError> for Error {
    fn from(e: flexcore_infra::postgres::deadpool_postgres::PoolError) -> Self {
        Self::Postgres(PgError::Pool(e.to_string()))
    }
}
