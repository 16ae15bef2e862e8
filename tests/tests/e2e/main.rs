//! FlexCore's end-to-end tests: the real gateway (in-process through its
//! library, or as the built binary) with the real plugins, checked as an HTTP
//! caller, a plugin author or an operator sees it. One test binary, a module
//! per feature; the harness is the `flexcore_tests` library.
//!
//! Needs `cargo build --workspace` first (for the plugin `.so` files and the
//! binary), `make` and a C compiler. The `pipelines` tests also need
//! PostgreSQL at 127.0.0.1:5432 with trust authentication (each test makes a
//! database of its own; `FLEXCORE_TEST_POSTGRES_URL` overrides the server)
//! and the server's binaries (`initdb`, `pg_ctl`) for a private cluster.
#![allow(clippy::unwrap_used)]

mod abi_versions;
mod auth;
mod c_plugin;
mod concurrency;
mod config;
mod domain_events;
mod errors;
mod invoke;
mod loading;
mod metrics;
mod panics;
mod pipelines;
mod reload;
mod shutdown;
