//! [`TestDatabase`]: a fresh PostgreSQL database per test, on the machine's
//! shared server, dropped when the test ends; so tests that use PostgreSQL
//! run in parallel and never see each other's rows.
//!
//! The server is `postgres://postgres@127.0.0.1:5432/postgres` (trust auth),
//! or the URL in `FLEXCORE_TEST_POSTGRES_URL`. Tests never restart it: one
//! that needs a server to go away uses a
//! [`PrivateCluster`](crate::PrivateCluster) instead.

use std::time::Duration;

use flexcore_infra::postgres::tokio_postgres::{self, Client, NoTls};

/// The server the test databases are made on, as its superuser.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long connecting to or asking the server anything may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The admin URL: `FLEXCORE_TEST_POSTGRES_URL`, or [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("FLEXCORE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// A database of its own, `flexcore_test_<uuid>`, dropped (with `FORCE`,
/// best-effort) when this value is.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database.
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let name = format!("flexcore_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url).await;
        tokio::time::timeout(
            ADMIN_TIMEOUT,
            admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")),
        )
        .await
        .unwrap_or_else(|_| panic!("CREATE DATABASE {name} took over {ADMIN_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let url = database_url(&admin_url, &name);
        Self { name, url, admin_url }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's URL, for `database_url` / `FLEXCORE_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A connection to this database, for checking rows behind the gateway's back.
    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }

    /// Terminates every other session connected to this database (the
    /// gateway's pool); returns how many there were.
    pub async fn terminate_connections(&self) -> usize {
        let admin = connect(&self.admin_url).await;
        let rows = tokio::time::timeout(
            ADMIN_TIMEOUT,
            admin.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&self.name],
            ),
        )
        .await
        .expect("pg_terminate_backend answers within 10 s")
        .expect("pg_terminate_backend runs");
        rows.iter().filter(|row| row.get::<_, bool>(0)).count()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on:
        // a thread of its own, with a runtime of its own, does the work.
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio::time::timeout(ADMIN_TIMEOUT, tokio_postgres::connect(&admin_url, NoTls))
                        .await
                        .ok()?
                        .ok()?;
                tokio::spawn(connection);
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                tokio::time::timeout(ADMIN_TIMEOUT, client.batch_execute(&drop))
                    .await
                    .ok()?
                    .ok()
            })
        });
        if dropper.join().ok().flatten().is_none() {
            eprintln!("warning: could not drop the test database {}", self.name);
        }
    }
}

/// Connects to `url`, driving the connection in a task; panics with the
/// reason when the server cannot be reached.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio::time::timeout(ADMIN_TIMEOUT, tokio_postgres::connect(url, NoTls))
        .await
        .unwrap_or_else(|_| panic!("connecting to {url} took over {ADMIN_TIMEOUT:?}"))
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to PostgreSQL at {url} ({e}); the end-to-end tests need a \
                 server there with trust authentication (or set FLEXCORE_TEST_POSTGRES_URL)"
            )
        });
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// `admin_url` with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(database_url("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(
            database_url("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
