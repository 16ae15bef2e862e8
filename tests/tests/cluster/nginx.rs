//! nginx in front of three nodes, with the configuration `infra/` ships
//! (`infra/nginx/flexcore.conf.template`): calls are spread over every node,
//! and when one is killed, calls keep succeeding once nginx has marked it
//! down. Skipped, saying so, when nginx is not installed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use flexcore_tests::TestProcess;
use flexcore_tests::ports::on_free_port;
use flexcore_tests::process::installed;
use tempfile::TempDir;
use tokio::process::Command;

use crate::harness::{Cluster, Settings};

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
    process: TestProcess,
    _dir: TempDir,
}

impl Nginx {
    async fn start(binary: &Path, nodes: &[SocketAddr]) -> Self {
        let template = std::fs::read_to_string(
            flexcore_tests::artifacts::workspace_root().join("infra/nginx/flexcore.conf.template"),
        )
        .unwrap();
        let started = on_free_port(async |port| {
            let dir = tempfile::tempdir().unwrap();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let config = dir.path().join("nginx.conf");
            std::fs::write(&config, fill(&template, addr, nodes)).unwrap();
            std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
            let log = dir.path().join("error.log");
            let mut command = Command::new(binary);
            command
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&config)
                .arg("-e")
                .arg(&log)
                .arg("-g")
                .arg("daemon off;")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut process = TestProcess::spawn("nginx", &mut command, &log);
            let listening = async || tokio::net::TcpStream::connect(addr).await.is_ok();
            if process.wait_ready(Duration::from_secs(10), listening).await {
                return Some(Self {
                    addr,
                    process,
                    _dir: dir,
                });
            }
            let log = process.log();
            assert!(log.contains("Address already in use"), "nginx did not start:\n{log}");
            None
        })
        .await;
        started.expect("nginx found no free port in 3 tries")
    }

    fn error_log(&self) -> String {
        self.process.log()
    }
}

impl Drop for Nginx {
    /// SIGTERM, so that the master stops its workers (SIGKILL would orphan
    /// them, still listening); SIGKILL only if it has not exited in 5 s.
    fn drop(&mut self) {
        self.process.stop_blocking(Duration::from_secs(5));
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
