//! [`GatewayProcess`]: the `flexcore-gateway` binary started as an operator
//! starts it, for what only a process shows: signals, exit codes, its log.
//!
//! Its stdout and stderr go to files (a pipe nobody reads could fill and stall
//! it), read back with [`GatewayProcess::stderr`]. It is killed when dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::artifacts::gateway_binary;
use crate::gateway::client;

/// How long the binary may take to answer `/health` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `flexcore-gateway` process.
pub struct GatewayProcess {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    child: Child,
    plugin_dir: TempDir,
    logs: TempDir,
}

/// The output of a gateway binary run to its end.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl GatewayProcess {
    /// Starts `flexcore-gateway --listen 127.0.0.1:<free port> --plugin-dir
    /// <fresh plugin folder>` plus `args`, with `env` added to an environment
    /// cleared of `FLEXCORE_*` and `RUST_LOG`; returns once `/health` answers.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut plugin_dir = crate::plugin_dir();
        // The free port is found by binding and releasing it, so another
        // process may take it first: then try again on another port.
        for _attempt in 0..3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let logs = tempfile::tempdir().unwrap();
            let mut command = gateway_command(env);
            command
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--plugin-dir")
                .arg(plugin_dir.path())
                .args(args)
                .stdout(log_file(logs.path(), "stdout"))
                .stderr(log_file(logs.path(), "stderr"));
            let child = command.spawn().expect("the gateway binary starts");
            let mut process = Self {
                addr,
                client: client(),
                child,
                plugin_dir,
                logs,
            };
            if process.wait_healthy().await {
                return process;
            }
            let log = process.stderr();
            assert!(
                log.contains("cannot listen"),
                "the gateway exited before serving; its log:\n{log}"
            );
            plugin_dir = process.plugin_dir;
        }
        panic!("the gateway found no free port in 3 tries")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM, as an init system or an orchestrator stops a service.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("the gateway is still running");
        let pid = libc::pid_t::try_from(pid).unwrap();
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own
        // child, which cannot have been reaped (and its pid reused) while we
        // hold its `Child` without having waited on it.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM) failed");
    }

    /// Sends SIGKILL (`kill -9`): the process ends at once, with no chance to
    /// clean up or flush anything; returns once it has exited (at most 5 s).
    pub async fn kill(&mut self) -> ExitStatus {
        self.child.start_kill().expect("SIGKILL can be sent to the gateway");
        self.wait_exit(Duration::from_secs(5)).await
    }

    /// Waits for the process to exit, at most `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the gateway did not exit within {within:?}; its log:\n{}",
                    self.stderr()
                )
            })
            .unwrap()
    }

    /// Everything the process wrote to stderr (its log) so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr")).unwrap_or_default()
    }

    /// Everything the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stdout")).unwrap_or_default()
    }

    /// Polls `/health` until it answers 200 (true) or the process exits
    /// (false); panics after [`START_TIMEOUT`].
    async fn wait_healthy(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            let health = self.client.get(self.url("/health")).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return true;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway did not answer /health within {START_TIMEOUT:?}; its log:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Runs the gateway binary with `args` and `env` (added to an environment
/// cleared of `FLEXCORE_*` and `RUST_LOG`) until it exits; it must within 10 s.
pub async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = gateway_command(env);
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("the gateway binary starts");
    // On timeout the child is dropped, which kills it (kill_on_drop).
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the gateway exits within 10 s")
        .unwrap();
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn gateway_command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(gateway_binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FLEXCORE_") {
            command.env_remove(&name);
        }
    }
    command
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).unwrap()
}

/// A port nobody listened on a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
