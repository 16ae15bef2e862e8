//! Child processes of a test: [`TestProcess`], a started program with the
//! file its log goes to, and what every test does with one (wait until it
//! serves, stop it with SIGTERM or SIGKILL, read its log in a failure
//! message); [`flexcore_command`], a FlexCore binary in an environment of the
//! test's making; [`output`], a program run to its end; [`installed`], where
//! an optional program (nginx, `redis-server`) lives.
//!
//! A process is killed when its value is dropped, so a failing test leaves
//! nothing running. Its output goes to files, never to a pipe nobody reads
//! (which could fill and stall it).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::{signals, wait};

/// How often [`TestProcess::wait_ready`] asks.
const READY_POLL: Duration = Duration::from_millis(20);
/// How long a SIGKILLed process may take to be gone.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// A running child process; killed when dropped.
pub struct TestProcess {
    /// Its name in messages (`flexcore-gateway`, `node-2`, `nginx`).
    what: String,
    child: Child,
    log: PathBuf,
}

/// The output of a program run to its end.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl TestProcess {
    /// Starts `command` (stdin closed, killed on drop), whose output the
    /// caller has sent to files; `log` is the file failure messages show.
    pub fn spawn(what: &str, command: &mut Command, log: &Path) -> Self {
        let child = command
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        Self {
            what: what.to_owned(),
            child,
            log: log.to_owned(),
        }
    }

    /// Its pid, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything it wrote to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `ready` until it says yes (true) or the process exits (false);
    /// panics, with the log, past `within`.
    pub async fn wait_ready(&mut self, within: Duration, mut ready: impl AsyncFnMut() -> bool) -> bool {
        let child = &mut self.child;
        let outcome = wait::until(within, READY_POLL, async || {
            if child.try_wait().unwrap().is_some() {
                return Ok(false);
            }
            if ready().await { Ok(true) } else { Err(()) }
        })
        .await;
        outcome.unwrap_or_else(|()| {
            panic!(
                "{} was not ready within {within:?}; its log:\n{}",
                self.what,
                self.log()
            )
        })
    }

    /// Sends SIGTERM, as an init system or an orchestrator stops a service.
    pub fn terminate(&self) {
        signals::terminate(&self.child).unwrap_or_else(|e| panic!("SIGTERM to {}: {e}", self.what));
    }

    /// Sends SIGKILL (`kill -9`) without waiting: the process ends at once,
    /// with no chance to clean up or flush anything.
    pub fn start_kill(&mut self) {
        let _ = self.child.start_kill();
    }

    /// SIGKILL, and waits until the process is gone (at most 5 s).
    pub async fn kill(&mut self) -> ExitStatus {
        self.child
            .start_kill()
            .unwrap_or_else(|e| panic!("SIGKILL to {}: {e}", self.what));
        self.wait_exit(KILL_TIMEOUT).await
    }

    /// Waits for the process to exit, at most `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!("{} did not exit within {within:?}; its log:\n{}", self.what, self.log()),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Blocks the
    /// thread: for `Drop`, which cannot await.
    pub fn stop_blocking(&mut self, grace: Duration) {
        if signals::terminate(&self.child).is_ok() {
            let deadline = std::time::Instant::now() + grace;
            while std::time::Instant::now() < deadline {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.start_kill();
    }
}

/// The FlexCore binary `program` in an environment cleared of `FLEXCORE_*`
/// and `RUST_LOG`, so that only what the test sets reaches it.
pub fn flexcore_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FLEXCORE_") {
            command.env_remove(&name);
        }
    }
    command.env_remove("RUST_LOG");
    command
}

/// Runs `command` to its end (stdin closed, output captured); it must end
/// within `within`, or it is killed and the test fails.
pub async fn output(command: &mut Command, within: Duration) -> Finished {
    let program = command.as_std().get_program().to_string_lossy().into_owned();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(within, command.output())
        .await
        .unwrap_or_else(|_| panic!("{program} did not finish within {within:?}"))
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Finished {
    /// Its exit status and output, for failure messages.
    pub fn describe(&self) -> String {
        format!("{}\n{}{}", self.status, self.stdout, self.stderr)
    }
}

/// Where `program` is installed: on the PATH, or in the sbin folders a
/// non-root PATH often lacks.
pub fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
