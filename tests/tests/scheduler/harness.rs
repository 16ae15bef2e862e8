//! Starting scheduler replicas (in-process, or as processes), the stand-in,
//! and reading the runs table behind the scheduler's back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use flexcore_scheduler::config::Overrides;
use flexcore_scheduler::{Scheduler, SchedulerConfig};
use flexcore_tests::process::{Finished, flexcore_command, output};
use flexcore_tests::windmill_standin::WindmillStandin;
use flexcore_tests::{TestDatabase, TestProcess, wait};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-windmill-token";
pub const WORKSPACE: &str = "flexcore";

/// A test's world: its database, a stand-in, a folder for config files.
pub struct World {
    pub db: TestDatabase,
    pub windmill: WindmillStandin,
    pub dir: TempDir,
}

impl World {
    /// A fresh database and a stand-in whose jobs run for `job_duration`.
    pub async fn new(job_duration: Duration) -> Self {
        Self {
            db: TestDatabase::create().await,
            windmill: WindmillStandin::start(TOKEN, WORKSPACE, job_duration).await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A config file with this world's database and Windmill, `extra`
    /// top-level settings, and `jobs` (TOML `[[jobs]]` entries).
    pub fn config_file(&self, extra: &str, jobs: &str) -> PathBuf {
        let text = format!(
            "database_url = \"{db}\"\n\
             database_pool_size = 3\n\
             {extra}\n\
             [windmill]\n\
             base_url = \"{windmill}\"\n\
             token = \"{TOKEN}\"\n\
             workspace = \"{WORKSPACE}\"\n\
             request_timeout = \"2s\"\n\n\
             {jobs}\n",
            db = self.db.url(),
            windmill = self.windmill.base_url(),
        );
        let path = self
            .dir
            .path()
            .join(format!("scheduler-{}.toml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The runs table, for queries.
    pub async fn runs(&self) -> Vec<RunRow> {
        runs(&self.db.client().await, None).await
    }

    pub async fn runs_of(&self, job: &str) -> Vec<RunRow> {
        runs(&self.db.client().await, Some(job)).await
    }

    /// Waits until no run is `claimed` or `running` (at most `within`); the
    /// runs as they are then.
    pub async fn wait_finished(&self, within: Duration) -> Vec<RunRow> {
        let runs = wait::until(within, Duration::from_millis(200), async || {
            let runs = self.runs().await;
            if runs.iter().all(RunRow::finished) {
                Ok(runs)
            } else {
                Err(runs)
            }
        })
        .await;
        runs.unwrap_or_else(|unfinished| unfinished)
    }

    /// The replica holding `job`'s lock now, with its lock connection's pid.
    pub async fn holder(&self, job: &str) -> Option<(String, i32)> {
        let key = flexcore_scheduler::jobs::Job::lock_key_of(job);
        let (hi, lo) = (((key as u64) >> 32) as i64, ((key as u64) & 0xffff_ffff) as i64);
        let row = self
            .db
            .client()
            .await
            .query_opt(
                "SELECT r.id, r.lock_pid FROM pg_locks l JOIN scheduler_replicas r ON r.lock_pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                   AND l.classid::bigint = $1 AND l.objid::bigint = $2",
                &[&hi, &lo],
            )
            .await
            .unwrap();
        row.map(|r| (r.get(0), r.get(1)))
    }

    /// Waits until some replica holds `job`, and returns it.
    pub async fn wait_holder(&self, job: &str, within: Duration) -> (String, i32) {
        wait::until_some(within, Duration::from_millis(100), async || self.holder(job).await)
            .await
            .unwrap_or_else(|| panic!("nobody holds {job} after {within:?}"))
    }
}

/// One row of `scheduler_runs`.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub job: String,
    pub scheduled_at: DateTime<Utc>,
    pub claimed_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub replica: String,
    pub attempt: i32,
    pub catch_up: bool,
    pub manual: bool,
    pub windmill_job_id: Option<uuid::Uuid>,
    pub status: String,
    pub error: Option<String>,
}

impl RunRow {
    pub fn finished(&self) -> bool {
        !matches!(self.status.as_str(), "claimed" | "running")
    }
}

async fn runs(client: &tokio_postgres_client::Client, job: Option<&str>) -> Vec<RunRow> {
    let rows = client
        .query(
            "SELECT job, scheduled_at, claimed_at, started_at, finished_at, replica, attempt,
                    catch_up, manual, windmill_job_id, status, error
             FROM scheduler_runs WHERE $1::text IS NULL OR job = $1 ORDER BY job, scheduled_at",
            &[&job],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| RunRow {
            job: r.get(0),
            scheduled_at: r.get(1),
            claimed_at: r.get(2),
            started_at: r.get(3),
            finished_at: r.get(4),
            replica: r.get(5),
            attempt: r.get(6),
            catch_up: r.get(7),
            manual: r.get(8),
            windmill_job_id: r.get(9),
            status: r.get(10),
            error: r.get(11),
        })
        .collect()
}

mod tokio_postgres_client {
    pub use flexcore_infra::postgres::tokio_postgres::Client;
}

/// The whole seconds in `[from, to]`.
pub fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let first = from.timestamp() + i64::from(from.timestamp_subsec_nanos() > 0);
    (first..=to.timestamp())
        .map(|s| DateTime::from_timestamp(s, 0).unwrap())
        .collect()
}

/// Checks that `job` has exactly one run at every whole second of
/// `[from, to]`, and returns those runs.
pub fn assert_every_second(runs: &[RunRow], job: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<RunRow> {
    let mut counts: HashMap<DateTime<Utc>, Vec<&RunRow>> = HashMap::new();
    for run in runs.iter().filter(|r| r.job == job && !r.manual) {
        counts.entry(run.scheduled_at).or_default().push(run);
    }
    let mut found = Vec::new();
    for tick in seconds(from, to) {
        let runs = counts.get(&tick).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            runs.len(),
            1,
            "job {job}, tick {tick}: {} runs (all runs of the job: {:#?})",
            runs.len(),
            counts
                .values()
                .flatten()
                .map(|r| (r.scheduled_at, &r.replica, &r.status))
                .collect::<Vec<_>>()
        );
        found.push(runs[0].clone());
    }
    found
}

/// An in-process replica.
pub struct Replica {
    pub id: String,
    pub admin: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Replica {
    /// Loads `config_file` as the binary would (with `--replica-id`) and
    /// runs the library.
    pub async fn start(config_file: &Path, id: &str) -> Self {
        let config = SchedulerConfig::load(&Overrides {
            config: Some(config_file.to_path_buf()),
            replica_id: Some(id.to_owned()),
            admin_listen: None,
        })
        .unwrap();
        Self::start_with(config).await
    }

    pub async fn start_with(config: SchedulerConfig) -> Self {
        let id = config.replica_id.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheduler = Scheduler::build(config, listener).await.unwrap();
        let admin = scheduler.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            scheduler
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            id,
            admin,
            stop: Some(stop),
            task,
        }
    }

    /// Stops gracefully (like SIGTERM), within 15 s.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("the replica stops within 15 s")
            .unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `flexcore-scheduler` process.
pub struct ReplicaProcess {
    pub id: String,
    process: TestProcess,
}

/// The built scheduler binary.
pub fn scheduler_binary() -> PathBuf {
    flexcore_tests::artifacts::artifact("flexcore-scheduler")
}

/// Runs the binary with `args`, in an environment cleared of `FLEXCORE_*`,
/// to its end (within 20 s).
pub async fn run_scheduler(args: &[&str]) -> Finished {
    let mut command = flexcore_command(scheduler_binary());
    output(command.args(args), Duration::from_secs(20)).await
}

impl ReplicaProcess {
    /// Starts the binary with `--config` and `--replica-id`; returns once
    /// its heartbeat is in the database.
    pub async fn spawn(world: &World, config_file: &Path, id: &str) -> Self {
        let log = world.dir.path().join(format!("{id}.log"));
        let mut command = flexcore_command(scheduler_binary());
        command
            .args(["--config", config_file.to_str().unwrap()])
            .args(["--replica-id", id, "--admin-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "flexcore_scheduler=debug,info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut process = TestProcess::spawn(id, &mut command, &log);
        let client = world.db.client().await;
        let heartbeat = async || {
            let sql = "SELECT 1 FROM scheduler_replicas WHERE id = $1";
            client.query_opt(sql, &[&id]).await.ok().flatten().is_some()
        };
        let started = process.wait_ready(Duration::from_secs(15), heartbeat).await;
        assert!(started, "replica {id} exited; its log:\n{}", process.log());
        Self {
            id: id.to_owned(),
            process,
        }
    }

    /// `kill -9`.
    pub async fn kill(&mut self) {
        self.process.kill().await;
    }
}

/// Ten `[[jobs]]` entries of TOML for `names`, each with `body`.
pub fn jobs_toml(names: &[&str], body: &str) -> String {
    names
        .iter()
        .map(|name| format!("[[jobs]]\nname = \"{name}\"\n{body}\n"))
        .collect()
}

/// Sleeps until just after the next whole second.
pub async fn align_to_second() {
    let now = Utc::now();
    let ms = 1000 - i64::from(now.timestamp_subsec_millis());
    tokio::time::sleep(Duration::from_millis(u64::try_from(ms).unwrap() + 20)).await;
}
