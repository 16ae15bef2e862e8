//! [`PrivateCluster`]: a PostgreSQL server of one test's own, in a temporary
//! folder on a free port, that the test may stop and start again (a real
//! outage) without touching the machine's shared server.
//!
//! It uses the server binaries of the machine (`/usr/lib/postgresql/<n>/bin`,
//! the newest; or `FLEXCORE_TEST_PG_BIN`): `initdb` once, then `pg_ctl` to
//! start and stop. PostgreSQL refuses to run as root, so as root they run as
//! the `postgres` user (`runuser -u postgres --`), which is given the folder.
//! The server is always stopped (immediately) when the value is dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::Command;

use crate::ports::on_free_port;
use crate::process::{Finished, output};

/// Bound on `initdb`, and on each `pg_ctl start` / `stop`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// What `pg_ctl -w` itself waits at most, in seconds.
const PG_CTL_WAIT_SECS: &str = "20";

/// A private PostgreSQL server; superuser `postgres`, trust authentication.
pub struct PrivateCluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivateCluster {
    /// Creates the cluster with `initdb` and starts it on a free port.
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("flexcore-pg-").tempdir().unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            let chown = std::process::Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(dir.path())
                .output()
                .expect("chown runs");
            assert!(
                chown.status.success(),
                "cannot give the cluster's folder to postgres: {chown:?}"
            );
        }
        let mut cluster = Self {
            dir,
            bin: server_bin_dir(),
            port: 0,
            as_postgres,
        };
        let data = cluster.data_dir();
        let output = cluster
            .run("initdb", |c| {
                c.arg("-D")
                    .arg(&data)
                    .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
            })
            .await;
        assert!(output.status.success(), "initdb failed: {}", output.describe());
        let started = on_free_port(async |port| {
            cluster.port = port;
            cluster.pg_ctl_start().await.then_some(())
        })
        .await;
        assert!(
            started.is_some(),
            "the private PostgreSQL did not start in 3 tries; its log:\n{}",
            cluster.log()
        );
        cluster
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub async fn stop(&self) {
        let data = self.data_dir();
        let output = self
            .run("pg_ctl", |c| {
                c.arg("-D")
                    .arg(&data)
                    .args(["-m", "immediate", "-w", "-t", PG_CTL_WAIT_SECS, "stop"]);
            })
            .await;
        assert!(output.status.success(), "pg_ctl stop failed: {}", output.describe());
    }

    /// Starts the server again on the same port, and waits until it accepts
    /// connections.
    pub async fn restart(&self) {
        assert!(
            self.pg_ctl_start().await,
            "the private PostgreSQL did not start again; its log:\n{}",
            self.log()
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `pg_ctl start -w`: true once the server accepts connections, false if
    /// it could not start (its log says why).
    async fn pg_ctl_start(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        self.run("pg_ctl", |c| {
            c.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(&options)
                .args(["-w", "-t", PG_CTL_WAIT_SECS, "start"]);
        })
        .await
        .status
        .success()
    }

    /// Runs the server program `program` (as `postgres` when we are root).
    async fn run(&self, program: &str, args: impl FnOnce(&mut Command)) -> Finished {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        args(&mut command);
        output(command.current_dir(self.dir.path()), COMMAND_TIMEOUT).await
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // Best effort, and blocking: drop cannot await. `pg_ctl -t` bounds it.
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            std::process::Command::new(&pg_ctl)
        };
        let _ = command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "-t", "10", "stop"])
            .current_dir(self.dir.path())
            .output();
    }
}

/// The newest `/usr/lib/postgresql/<n>/bin` with `initdb`, or `FLEXCORE_TEST_PG_BIN`.
fn server_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FLEXCORE_TEST_PG_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    newest.map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries under {} (initdb, pg_ctl); install the \
             `postgresql` package or set FLEXCORE_TEST_PG_BIN",
            root.display()
        )
    })
}

/// Whether this process runs as root (the owner of its own `/proc` entry).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
