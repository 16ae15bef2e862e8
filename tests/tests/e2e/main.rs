//! FlexCore's end-to-end tests: the real gateway (in-process through its
//! library, or as the built binary) with the real plugins, checked as an HTTP
//! caller, a plugin author or an operator sees it. One test binary, a module
//! per feature; the harness is the `flexcore_tests` library.
//!
//! Needs `cargo build --workspace` first (for the plugin `.so` files and the
//! binary), `make` and a C compiler.
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
mod reload;
mod shutdown;
