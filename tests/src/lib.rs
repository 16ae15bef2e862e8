//! The harness of FlexCore's end-to-end tests (the tests themselves live in
//! `tests/e2e/`, `tests/cluster/` and `tests/scheduler/`: one test binary
//! each, with a module per feature).
//!
//! Every test starts its own gateway on `127.0.0.1:0` with its own plugin
//! folder, so tests run in parallel and never depend on order:
//!
//! - [`artifacts`]: where the build left the plugins and the gateway binary,
//!   and [`plugin_dir`], a fresh folder holding copies of them plus the C
//!   plugin compiled into it; [`compile_c`] builds ad-hoc C plugins;
//! - [`c_faults`]: a C plugin that segfaults, aborts, exits, hangs, bombs
//!   memory or writes garbage on request (isolation tests);
//! - [`c_plugins`]: sources of C plugins made for one test (a second echo, and
//!   plugins the host must refuse);
//! - [`gateway`]: [`TestGateway`], the gateway library run in-process, the way
//!   `main.rs` runs it, with a graceful [`TestGateway::stop`];
//! - [`gateway_process`]: [`GatewayProcess`], the `flexcore-gateway` binary
//!   as an operator runs it (for signals, logs and configuration errors), one
//!   test's or one cluster node's;
//! - [`http`]: what every test checks about responses: the JSON error shape,
//!   and raw requests for what an HTTP client library would normalise away;
//! - [`database`]: [`TestDatabase`], a fresh PostgreSQL database per test on
//!   the shared server, dropped at the end;
//! - [`partition`]: a TCP proxy that can stop carrying traffic without
//!   closing anything (a silent network partition), then heal;
//! - [`pg_cluster`]: [`PrivateCluster`], a PostgreSQL server of one test's own
//!   in a temporary folder, to stop and start (a real outage);
//! - [`recorder`]: a C plugin that records the id of every event it is
//!   given in a file, and reading those files (cluster tests, events bench);
//! - [`windmill_standin`]: a stand-in for Windmill's REST API (scheduler tests).
//!
//! The plumbing every harness above (and the test binaries' own) is built on,
//! one module per concern:
//!
//! - [`process`]: [`TestProcess`], a child process with its log, and how to
//!   start FlexCore binaries and run programs to their end;
//! - [`ports`]: free ports for servers started as processes, and trying again
//!   when another process takes one first;
//! - [`signals`]: SIGTERM to a child (the crate's only `unsafe`);
//! - [`wait`]: the poll-until-with-a-deadline every wait is made of.
//!
//! The artifacts come from `cargo build --workspace`; the harness never runs
//! cargo, and fails with a message saying so when they are missing.
#![allow(clippy::unwrap_used)]
// `unsafe` is allowed in `signals` alone.
#![deny(unsafe_code)]

pub mod artifacts;
pub mod c_faults;
pub mod c_plugins;
pub mod database;
pub mod gateway;
pub mod gateway_process;
pub mod http;
pub mod partition;
pub mod pg_cluster;
pub mod ports;
pub mod process;
pub mod recorder;
pub mod signals;
pub mod wait;
pub mod windmill_standin;

pub use artifacts::{compile_c, plugin_dir, replace_file};
pub use database::TestDatabase;
pub use gateway::TestGateway;
pub use gateway_process::GatewayProcess;
pub use http::{assert_error, raw_request};
pub use pg_cluster::PrivateCluster;
pub use process::TestProcess;
