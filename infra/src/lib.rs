//! FlexCore's plumbing to the outside world, with no domain knowledge.
//!
//! - [`cluster`]: the Redis key layout and member record of a cluster, the
//!   wire contract shared by the gateway, the scheduler and the tests;
//! - [`config`]: layered configuration (TOML file, `FLEXCORE_*` environment,
//!   command-line overrides) into any typed, `deny_unknown_fields` struct, with
//!   errors that name the offending key; [`Secret`] for values never printed.
//! - [`postgres`]: pools, dedicated connections, advisory lock keys, migrations;
//! - [`redis`]: a pool for commands, dedicated connections for blocking reads;
//! - [`signals`]: waiting for SIGTERM or SIGINT;
//! - [`telemetry`]: the tracing subscriber every binary installs.
//! - [`windmill`]: the Windmill REST client (start, follow, cancel jobs; create workflows).
//! - [`host_name`]: this machine's name, for default node and replica ids.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod config;
pub mod postgres;
pub mod redis;
mod secret;
pub mod signals;
pub mod telemetry;
pub mod windmill;

pub use config::{ConfigError, ConfigLoader};
pub use secret::Secret;

/// This machine's host name, or `"localhost"` when it cannot be read.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
