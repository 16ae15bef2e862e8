//! Redis going away and coming back under a running cluster: a private
//! `redis-server` (AOF, `appendfsync always`, in a temporary folder; the
//! shared Redis is never restarted) is killed with SIGKILL while events are
//! being published, and started again on the same port and folder. The nodes
//! reconnect by themselves, membership recovers, and every event that was
//! acknowledged (202) is delivered. Skipped, saying so, when `redis-server`
//! is not installed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use flexcore_infra::redis::redis;
use flexcore_tests::TestProcess;
use flexcore_tests::ports::free_port;
use flexcore_tests::process::installed;
use serde_json::json;
use tempfile::TempDir;
use tokio::process::Command;
use tokio::time::Instant;

use crate::harness::{Cluster, Settings, node_ids, publish};

const PUBLISHERS: usize = 4;
/// How long Redis stays down.
const OUTAGE: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_recover_from_a_redis_restart_and_no_acknowledged_event_is_lost() {
    let Some(binary) = installed("redis-server") else {
        eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server)");
        return;
    };
    let mut redis = PrivateRedis::start(&binary).await;
    let cluster = Cluster::start(
        3,
        Settings {
            redis_url: redis.url(),
            ..Settings::default()
        },
    )
    .await;
    let leader = cluster.wait_agreed(Duration::from_secs(10)).await;
    cluster.subscribe("outage.tick", "recorder").await;

    // Publishers run through the outage: what Redis did not take is refused
    // (503) and not counted; what it took is acknowledged and must arrive.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let addrs: Vec<SocketAddr> = cluster.nodes.iter().map(|n| n.addr).collect();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let (stop, sent, client, addrs) = (
                Arc::clone(&stop),
                Arc::clone(&sent),
                cluster.client.clone(),
                addrs.clone(),
            );
            tokio::spawn(async move {
                let (mut acked, mut refused) = (Vec::new(), 0usize);
                for i in 0..100_000usize {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let seq = sent.fetch_add(1, Ordering::Relaxed);
                    match publish(
                        &client,
                        addrs[(p + i) % addrs.len()],
                        "outage.tick",
                        json!({ "seq": seq }),
                    )
                    .await
                    {
                        Ok(id) => acked.push(id),
                        Err(_) => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (acked, refused)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill().await;
    let outage = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    // While Redis is away the nodes say so, and keep serving.
    let node = cluster.live().next().unwrap();
    let response = cluster.client.get(node.url("/cluster")).send().await.unwrap();
    assert_eq!(response.status(), 503, "GET /cluster without Redis");
    let response = cluster.client.get(node.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET /health without Redis");
    redis.restart().await;

    // Membership recovers: every node lists all three and the same leader.
    let recovered = cluster.wait_agreed(Duration::from_secs(15)).await;
    let recovery = outage.elapsed() - OUTAGE;
    assert_eq!(
        recovered, leader,
        "leadership lives in PostgreSQL; the Redis outage does not move it"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut published, mut refused) = (Vec::new(), 0);
    for publisher in publishers {
        let (acked, refusals) = publisher.await.unwrap();
        published.extend(acked);
        refused += refusals;
    }
    assert!(refused > 0, "some publishes fell into the outage and were refused");

    let tally = cluster.wait_delivered(&published, Duration::from_secs(30)).await;
    for node in cluster.live() {
        let view = cluster.get_json(node, "/cluster").await.unwrap();
        assert_eq!(node_ids(&view), ["node-1", "node-2", "node-3"]);
    }
    println!(
        "redis restart: membership agreed {recovery:?} after Redis came back; {} events acknowledged \
         ({refused} refused during the outage), all delivered ({} duplicates)",
        published.len(),
        tally.duplicates()
    );
}

/// A `redis-server` of this test's own, persisting every write to its AOF
/// before answering, in a temporary folder.
struct PrivateRedis {
    binary: PathBuf,
    port: u16,
    dir: TempDir,
    process: Option<TestProcess>,
}

impl PrivateRedis {
    async fn start(binary: &Path) -> Self {
        let mut redis = Self {
            binary: binary.to_owned(),
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            process: None,
        };
        redis.spawn().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let log = self.dir.path().join("redis.log");
        let mut command = Command::new(&self.binary);
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut process = TestProcess::spawn("redis-server", &mut command, &log);
        let client = redis::Client::open(self.url()).unwrap();
        let pong = async || match client.get_multiplexed_async_connection().await {
            Ok(mut conn) => redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok(),
            Err(_) => false,
        };
        let ready = process.wait_ready(Duration::from_secs(10), pong).await;
        assert!(ready, "redis-server exited at start:\n{}", process.log());
        self.process = Some(process);
    }

    /// SIGKILL: no shutdown save, only what the AOF already holds survives.
    async fn kill(&mut self) {
        self.process.take().unwrap().kill().await;
    }

    /// Starts it again on the same port and folder (so, from the same AOF).
    async fn restart(&mut self) {
        self.spawn().await;
    }
}
