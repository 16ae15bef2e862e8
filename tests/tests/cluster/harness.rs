//! A cluster of real `flexcore-gateway` processes for one test: its own
//! database, its own Redis key prefix, one plugin folder (the built plugins
//! plus two recorders: `recorder`, and `broken`, which records and fails),
//! one config file per node; and what tests ask of it.
//!
//! Nodes are the built binary ([`GatewayProcess`]), not the library
//! in-process, because the tests kill them with SIGKILL. Every wait is
//! bounded by a deadline ([`wait`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flexcore_infra::redis::redis;
use flexcore_tests::gateway_process::Launch;
use flexcore_tests::recorder::{self, Delivery, Tally};
use flexcore_tests::{GatewayProcess, TestDatabase, wait};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The machine's shared Redis, or `FLEXCORE_TEST_REDIS_URL`.
pub fn shared_redis_url() -> String {
    std::env::var("FLEXCORE_TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

/// Event delivery settings of the nodes.
#[derive(Debug, Clone)]
pub struct Settings {
    pub redis_url: String,
    pub max_attempts: u32,
    pub retry_backoff: &'static str,
    pub reclaim_idle: &'static str,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            redis_url: shared_redis_url(),
            max_attempts: 5,
            retry_backoff: "50ms",
            reclaim_idle: "2s",
        }
    }
}

/// The heartbeat TTL the nodes run with (the gateway's default).
pub const MEMBER_TTL: Duration = Duration::from_secs(3);

/// A running cluster. Dropping it kills the nodes, deletes its Redis keys and
/// drops its database.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub client: reqwest::Client,
    pub prefix: String,
    pub redis_url: String,
    pub db: TestDatabase,
    /// Config files, recorder files, node logs.
    dir: TempDir,
    plugins: TempDir,
}

/// One gateway process.
pub struct Node {
    pub id: String,
    pub addr: SocketAddr,
    process: GatewayProcess,
    killed: bool,
}

impl Cluster {
    /// Starts `size` nodes (`node-1`, ...) and waits until each answers `/health`.
    pub async fn start(size: usize, settings: Settings) -> Self {
        let db = TestDatabase::create().await;
        let dir = tempfile::tempdir().unwrap();
        let plugins = flexcore_tests::plugin_dir();
        recorder::compile(plugins.path(), "recorder");
        recorder::compile(plugins.path(), "broken");
        let prefix = format!("flexcore-test-{}", uuid::Uuid::new_v4().simple());
        let mut cluster = Self {
            nodes: Vec::with_capacity(size),
            client: flexcore_tests::gateway::client(),
            prefix,
            redis_url: settings.redis_url.clone(),
            db,
            dir,
            plugins,
        };
        for index in 1..=size {
            let id = format!("node-{index}");
            let config = cluster.write_config(&id, &settings);
            let node = Node::spawn(&id, &config, cluster.plugins.path(), cluster.dir.path()).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    fn write_config(&self, id: &str, settings: &Settings) -> PathBuf {
        let text = format!(
            "node_id = {id}\n\
             database_url = {db}\n\
             database_pool_size = 4\n\
             redis_url = {redis}\n\
             redis_prefix = {prefix}\n\
             [log]\nlevel = \"info\"\n\
             [cluster]\nheartbeat_interval = \"1s\"\nmember_ttl = \"3s\"\nleader_check_interval = \"1s\"\n\
             [events]\nmax_attempts = {attempts}\nretry_backoff = \"{backoff}\"\nreclaim_idle = \"{idle}\"\n\
             [plugins.recorder]\nfile = {recorder}\nnode = {id}\n\
             [plugins.broken]\nfile = {broken}\nnode = {id}\nfail = \"1\"\n",
            id = toml_string(id),
            db = toml_string(self.db.url()),
            redis = toml_string(&settings.redis_url),
            prefix = toml_string(&self.prefix),
            attempts = settings.max_attempts,
            backoff = settings.retry_backoff,
            idle = settings.reclaim_idle,
            recorder = toml_string(&self.recorder_file().to_string_lossy()),
            broken = toml_string(&self.broken_file().to_string_lossy()),
        );
        let path = self.dir.path().join(format!("{id}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The file the `recorder` plugin of every node appends to.
    pub fn recorder_file(&self) -> PathBuf {
        self.dir.path().join("recorder.log")
    }

    /// The file the `broken` plugin of every node appends to.
    pub fn broken_file(&self) -> PathBuf {
        self.dir.path().join("broken.log")
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        recorder::read(&self.recorder_file())
    }

    /// The nodes not killed.
    pub fn live(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.killed)
    }

    pub fn node(&self, id: &str) -> &Node {
        self.nodes.iter().find(|n| n.id == id).unwrap()
    }

    /// Kills `id` with SIGKILL; returns once it has exited.
    pub async fn kill(&mut self, id: &str) {
        let node = self.nodes.iter_mut().find(|n| n.id == id).unwrap();
        node.kill().await;
    }

    /// `GET path` on `node`: the JSON body of a 200, `None` otherwise.
    pub async fn get_json(&self, node: &Node, path: &str) -> Option<Value> {
        let response = self.client.get(node.url(path)).send().await.ok()?;
        if response.status() != 200 {
            return None;
        }
        response.json().await.ok()
    }

    /// When every live node's `GET /cluster` lists exactly the live nodes and
    /// names the same leader, one of them: that leader.
    pub async fn agreed_leader(&self) -> Option<String> {
        let mut expected: Vec<&str> = self.live().map(|n| n.id.as_str()).collect();
        expected.sort_unstable();
        let mut leader = None;
        for node in self.live() {
            let view = self.get_json(node, "/cluster").await?;
            let ids = node_ids(&view);
            let seen = view["leader"].as_str()?.to_owned();
            if ids != expected || !expected.contains(&seen.as_str()) || leader.as_ref().is_some_and(|l| *l != seen) {
                return None;
            }
            leader = Some(seen);
        }
        leader
    }

    /// Waits until the live nodes agree on the members and the leader.
    pub async fn wait_agreed(&self, within: Duration) -> String {
        let every = Duration::from_millis(50);
        if let Some(leader) = wait::until_some(within, every, async || self.agreed_leader().await).await {
            return leader;
        }
        let mut views = String::new();
        for node in self.live() {
            views += &format!("\n{}: {:?}", node.id, self.get_json(node, "/cluster").await);
        }
        panic!("the nodes did not agree within {within:?}; their views:{views}");
    }

    /// The live nodes whose `GET /info` says they lead.
    pub async fn self_declared_leaders(&self) -> Vec<String> {
        let mut leaders = Vec::new();
        for node in self.live() {
            if let Some(info) = self.get_json(node, "/info").await
                && info["role"] == "leader"
            {
                leaders.push(node.id.clone());
            }
        }
        leaders
    }

    /// Subscribes `plugin` to `event_type` (through the first live node), then
    /// waits until every node's subscription index (refreshed every second)
    /// has surely picked it up.
    pub async fn subscribe(&self, event_type: &str, plugin: &str) {
        let node = self.live().next().unwrap();
        let response = self
            .client
            .post(node.url("/subscriptions"))
            .json(&json!({"event_type": event_type, "target": {"plugin": plugin}}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            201,
            "POST /subscriptions: {}",
            response.text().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }

    /// Entries of the event stream not yet acknowledged (`XPENDING`).
    pub async fn pending(&self) -> u64 {
        let pool = flexcore_infra::redis::pool(&self.redis_url, 1).unwrap();
        let mut conn = pool.get().await.unwrap();
        let summary: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(format!("{}:events", self.prefix))
            .arg("gateways")
            .query_async(&mut *conn)
            .await
            .unwrap();
        match summary.first() {
            Some(redis::Value::Int(n)) => u64::try_from(*n).unwrap(),
            other => panic!("unexpected XPENDING reply {other:?}"),
        }
    }

    /// Waits until every event of `published` has reached the `recorder`
    /// and nothing is left pending; returns who got what.
    pub async fn wait_delivered(&self, published: &[String], within: Duration) -> Tally {
        let delivered = wait::until(within, Duration::from_millis(200), async || {
            let tally = Tally::of(&self.deliveries());
            if tally.missing(published).is_empty() && self.pending().await == 0 {
                Ok(tally)
            } else {
                Err(tally)
            }
        })
        .await;
        match delivered {
            Ok(tally) => tally,
            Err(tally) => {
                let missing = tally.missing(published);
                panic!(
                    "after {within:?}, {} acknowledged events were never delivered (e.g. {:?}) and {} are pending;{}",
                    missing.len(),
                    missing.iter().take(5).collect::<Vec<_>>(),
                    self.pending().await,
                    self.logs()
                );
            }
        }
    }

    /// The log of every node, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("\n--- {} ---\n{}", n.id, n.log()))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.process.start_kill();
        }
        // The keys of this test only; a thread of its own, as the test's
        // runtime must not be blocked.
        let url = self.redis_url.clone();
        let pattern = format!("{}:*", self.prefix);
        let _ = std::thread::spawn(move || delete_keys(&url, &pattern)).join();
    }
}

/// Deletes the keys matching `pattern`, best-effort.
fn delete_keys(url: &str, pattern: &str) -> Option<()> {
    // Let the killed nodes' last writes land before deleting.
    std::thread::sleep(Duration::from_millis(100));
    let client = redis::Client::open(url).ok()?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(2)).ok()?;
    let mut cursor = 0u64;
    for _ in 0..10_000 {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(&mut conn)
            .ok()?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).query::<u64>(&mut conn).ok()?;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    Some(())
}

impl Node {
    /// Starts the binary with `config` on a free port; returns once `/health` answers.
    async fn spawn(id: &str, config: &Path, plugins: &Path, dir: &Path) -> Self {
        let config = config.to_string_lossy();
        let process = GatewayProcess::launch(Launch {
            name: id,
            args: &["--config", &config],
            env: &[],
            plugin_dir: plugins,
            logs: dir,
            start_timeout: Duration::from_secs(20),
        })
        .await;
        Self {
            id: id.to_owned(),
            addr: process.addr,
            process,
            killed: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        self.process.stderr()
    }

    /// SIGKILL (`kill -9`), and wait until the process is gone (at most 5 s).
    pub async fn kill(&mut self) {
        self.process.kill().await;
        self.killed = true;
    }

    /// Sends SIGTERM (a clean stop) and waits for the exit (at most 15 s).
    pub async fn terminate(&mut self) {
        self.process.terminate();
        self.process.wait_exit(Duration::from_secs(15)).await;
        self.killed = true;
    }
}

/// The sorted node ids of a `GET /cluster` answer.
pub fn node_ids(view: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = view["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().filter_map(|n| n["node_id"].as_str()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// `POST /events` on `node`: the id of a 202, or why not.
pub async fn publish(
    client: &reqwest::Client,
    node: SocketAddr,
    event_type: &str,
    data: Value,
) -> Result<String, String> {
    let response = client
        .post(format!("http://{node}/events"))
        .json(&json!({"type": event_type, "source": "cluster-test", "data": data}))
        .send()
        .await
        .map_err(|e| format!("{node}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("{node}: {e}"))?;
    if status != 202 {
        return Err(format!("{node}: {status} {body}"));
    }
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{node}: no id in {body}"))
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
