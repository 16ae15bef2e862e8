//! Tests of the load generator against small hyper servers started here, on
//! 127.0.0.1:0, each on its own thread and runtime so that a server's stall
//! is the server's alone.
//!
//! - [`server`]: the test server (optional stall every Nth request, fixed status);
//! - [`timing`]: open versus closed loop against a known, injected delay;
//! - [`command`]: the `flexcore-load` binary: exit codes of thresholds,
//!   JSON reports, charts, scenario files with setup requests.
#![allow(clippy::unwrap_used)]

mod command;
mod server;
mod timing;

/// Every test that sends load takes this lock, so that the timing tests
/// measure their own load only: on a 2-core CI machine, two at once would
/// each see the other.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
