//! nginx in front of three nodes, with the configuration `infra/` ships
//! (`infra/nginx/flexcore.conf.template`): calls are spread over every node,
//! and when one is killed, calls keep succeeding once nginx has marked it
//! down. Skipped, saying so, when nginx is not installed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::harness::{Cluster, Settings, free_port, installed};

const CALLS: usize = 3_000;
const AFTER_KILL: usize = 1_000;
const CONCURRENCY: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_spreads_calls_over_all_nodes_and_routes_around_a_killed_one() {
    let Some(binary) = installed("nginx") else {
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx; .ci/run installs it)");
        return;
    };
    let mut cluster = Cluster::start(3, Settings::default()).await;
    let nodes: Vec<SocketAddr> = cluster.nodes.iter().map(|n| n.addr).collect();
    let nginx = Nginx::start(&binary, &nodes).await;

    let served = calls(&cluster.client, nginx.addr, 0..CALLS).await;
    let failures: Vec<&String> = served.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} calls failed, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    let counts = count_by_node(&served);
    println!("nginx: {CALLS} calls spread as {counts:?}");
    for node in cluster.live() {
        let share = counts.get(&node.id).copied().unwrap_or(0);
        assert!(
            share * 5 >= CALLS,
            "{} served {share} of {CALLS} calls (< 20%): {counts:?}",
            node.id
        );
    }

    let victim = "node-2";
    cluster.kill(victim).await;
    let served = calls(&cluster.client, nginx.addr, CALLS..CALLS + AFTER_KILL).await;
    let failures: Vec<&String> = served.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {AFTER_KILL} calls failed after {victim} was killed, e.g. {:?}; nginx's log:\n{}",
        failures.len(),
        failures.first(),
        nginx.error_log()
    );
    let counts = count_by_node(&served);
    println!("nginx: after {victim} was killed, {AFTER_KILL} calls spread as {counts:?}");
    assert!(!counts.contains_key(victim), "{counts:?}");
    assert_eq!(counts.len(), 2, "both survivors serve: {counts:?}");
    let log = nginx.error_log();
    assert!(
        log.contains("temporarily disabled"),
        "nginx marks the dead node down (its log says so):\n{log}"
    );
}

/// Calls `POST /plugins/echo/execute` through nginx once per `ids` element,
/// `CONCURRENCY` at a time; each result is the `x-flexcore-node` of a
/// correct echo, or what went wrong.
async fn calls(
    client: &reqwest::Client,
    nginx: SocketAddr,
    ids: std::ops::Range<usize>,
) -> Vec<Result<String, String>> {
    let ids: Vec<usize> = ids.collect();
    let mut results = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ids.len().div_ceil(CONCURRENCY)) {
        let chunk = chunk.to_vec();
        let client = client.clone();
        results.push(tokio::spawn(async move {
            let mut served = Vec::with_capacity(chunk.len());
            for id in chunk {
                served.push(call(&client, nginx, id).await);
            }
            served
        }));
    }
    let mut served = Vec::with_capacity(ids.len());
    for task in results {
        served.extend(task.await.unwrap());
    }
    served
}

async fn call(client: &reqwest::Client, nginx: SocketAddr, id: usize) -> Result<String, String> {
    let body = format!("call-{id}");
    let response = client
        .post(format!("http://{nginx}/plugins/echo/execute"))
        .body(body.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let node = response
        .headers()
        .get("x-flexcore-node")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.map_err(|e| e.to_string())?;
    match node {
        Some(node) if status == 200 && text == body => Ok(node),
        _ => Err(format!("call {id}: {status} {node:?} {text}")),
    }
}

fn count_by_node(served: &[Result<String, String>]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for node in served.iter().flatten() {
        *counts.entry(node.clone()).or_insert(0) += 1;
    }
    counts
}

/// nginx in the foreground, with the shipped template filled in, its prefix
/// (config, pid, logs, temporary files) in a folder of its own.
struct Nginx {
    addr: SocketAddr,
    child: Child,
    dir: TempDir,
}

impl Nginx {
    async fn start(binary: &Path, nodes: &[SocketAddr]) -> Self {
        let template = std::fs::read_to_string(
            flexcore_tests::artifacts::workspace_root().join("infra/nginx/flexcore.conf.template"),
        )
        .unwrap();
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let config = dir.path().join("nginx.conf");
            std::fs::write(&config, fill(&template, addr, nodes)).unwrap();
            std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
            let child = Command::new(binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&config)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-g")
                .arg("daemon off;")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts");
            let mut nginx = Self { addr, child, dir };
            if nginx.wait_listening().await {
                return nginx;
            }
            let log = nginx.error_log();
            assert!(log.contains("Address already in use"), "nginx did not start:\n{log}");
        }
        panic!("nginx found no free port in 3 tries")
    }

    /// True once nginx accepts connections, false if it exited.
    async fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within 10 s:\n{}",
                self.error_log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    /// SIGTERM, so that the master stops its workers (SIGKILL would orphan
    /// them, still listening); SIGKILL only if it has not exited in 5 s.
    fn drop(&mut self) {
        let Some(pid) = self.child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()) else {
            return;
        };
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own
        // child, not yet waited for, so it cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        for _ in 0..250 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.start_kill();
    }
}

/// The template with `@@LISTEN@@` set and the `@@NODE@@` line repeated per node.
fn fill(template: &str, listen: SocketAddr, nodes: &[SocketAddr]) -> String {
    let mut config = String::new();
    for line in template.lines() {
        if line.contains("@@NODE@@") {
            for node in nodes {
                config += &line.replace("@@NODE@@", &node.to_string());
                config.push('\n');
            }
        } else {
            config += &line.replace("@@LISTEN@@", &listen.to_string());
            config.push('\n');
        }
    }
    config
}
