//! [`GatewayProcess`]: the `flexcore-gateway` binary started as an operator
//! starts it, for what only a process shows: signals, exit codes, its log,
//! `kill -9`. The e2e tests start one with [`GatewayProcess::spawn`]; the
//! cluster tests start their nodes with [`GatewayProcess::launch`], which
//! says where the plugins are and where the logs go.
//!
//! Its stdout and stderr go to files, read back with
//! [`GatewayProcess::stderr`]. It is killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::Command;

use crate::artifacts::gateway_binary;
use crate::gateway::client;
use crate::ports::on_free_port;
use crate::process::{Finished, TestProcess, flexcore_command, output};

/// How long [`GatewayProcess::spawn`]'s binary may take to answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `flexcore-gateway` process.
pub struct GatewayProcess {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    process: TestProcess,
    stdout: PathBuf,
    /// The folders [`spawn`](Self::spawn) made, removed with the process.
    _owned: Option<(TempDir, TempDir)>,
}

/// How [`GatewayProcess::launch`] starts the binary.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// Its name in messages and in its log files' names.
    pub name: &'a str,
    /// Arguments after `--listen 127.0.0.1:<free port> --plugin-dir <plugin_dir>`.
    pub args: &'a [&'a str],
    /// Added to an environment cleared of `FLEXCORE_*` and `RUST_LOG`.
    pub env: &'a [(&'a str, &'a str)],
    pub plugin_dir: &'a Path,
    /// The folder its stderr (`<name>.log`) and stdout (`<name>.stdout`) go to.
    pub logs: &'a Path,
    /// How long it may take to answer `/health`.
    pub start_timeout: Duration,
}

impl GatewayProcess {
    /// Starts `flexcore-gateway --listen 127.0.0.1:<free port> --plugin-dir
    /// <fresh plugin folder>` plus `args`, with `env` added to an environment
    /// cleared of `FLEXCORE_*` and `RUST_LOG`; returns once `/health` answers.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let plugin_dir = crate::plugin_dir();
        let logs = tempfile::tempdir().unwrap();
        let mut gateway = Self::launch(Launch {
            name: "flexcore-gateway",
            args,
            env,
            plugin_dir: plugin_dir.path(),
            logs: logs.path(),
            start_timeout: START_TIMEOUT,
        })
        .await;
        gateway._owned = Some((plugin_dir, logs));
        gateway
    }

    /// Starts the binary as `launch` says, on a free port (another one if a
    /// process took it first); returns once `/health` answers.
    pub async fn launch(launch: Launch<'_>) -> Self {
        let client = client();
        let log = launch.logs.join(format!("{}.log", launch.name));
        let stdout = launch.logs.join(format!("{}.stdout", launch.name));
        let started = on_free_port(async |port| {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut command = gateway_command(launch.env);
            command
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--plugin-dir")
                .arg(launch.plugin_dir)
                .args(launch.args)
                .stdout(create(&stdout))
                .stderr(create(&log));
            let mut process = TestProcess::spawn(launch.name, &mut command, &log);
            let health = format!("http://{addr}/health");
            let healthy = async || client.get(&health).send().await.is_ok_and(|r| r.status() == 200);
            if process.wait_ready(launch.start_timeout, healthy).await {
                return Some((addr, process));
            }
            let log = process.log();
            assert!(
                log.contains("cannot listen"),
                "{} exited before serving; its log:\n{log}",
                launch.name
            );
            None
        })
        .await;
        let (addr, process) = started.unwrap_or_else(|| panic!("{} found no free port in 3 tries", launch.name));
        Self {
            addr,
            client,
            process,
            stdout,
            _owned: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM, as an init system or an orchestrator stops a service.
    pub fn terminate(&self) {
        self.process.terminate();
    }

    /// Sends SIGKILL (`kill -9`): the process ends at once, with no chance to
    /// clean up or flush anything; returns once it has exited (at most 5 s).
    pub async fn kill(&mut self) -> ExitStatus {
        self.process.kill().await
    }

    /// Sends SIGKILL without waiting.
    pub fn start_kill(&mut self) {
        self.process.start_kill();
    }

    /// Waits for the process to exit, at most `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        self.process.wait_exit(within).await
    }

    /// Everything the process wrote to stderr (its log) so far.
    pub fn stderr(&self) -> String {
        self.process.log()
    }

    /// Everything the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }
}

/// Runs the gateway binary with `args` and `env` (added to an environment
/// cleared of `FLEXCORE_*` and `RUST_LOG`) until it exits; it must within 10 s.
pub async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> Finished {
    output(gateway_command(env).args(args), Duration::from_secs(10)).await
}

fn gateway_command(env: &[(&str, &str)]) -> Command {
    let mut command = flexcore_command(gateway_binary());
    command.envs(env.iter().copied());
    command
}

fn create(file: &Path) -> std::fs::File {
    std::fs::File::create(file).unwrap_or_else(|e| panic!("cannot create {}: {e}", file.display()))
}
