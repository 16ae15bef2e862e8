//! Signals to the child processes a test started: SIGTERM, the way an init
//! system or an orchestrator stops a service. (SIGKILL needs nothing of
//! ours: tokio's `Child::start_kill` sends it.)
//!
//! The one `unsafe` block of the tests crate is here, so that its argument
//! is made once.

use std::io;

use tokio::process::Child;

/// Sends SIGTERM to `child`; an error when it has already been waited for
/// (its pid may then belong to another process) or `kill(2)` fails.
#[allow(unsafe_code)]
pub fn terminate(child: &Child) -> io::Result<()> {
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("the process has already been waited for"))?;
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: kill(2) has no memory-safety preconditions. `pid` is our own
    // child, and `Child::id` is `None` once it has been reaped, so it cannot
    // name a process that reused the pid.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
