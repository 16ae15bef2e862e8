//! End-to-end tests of the scheduler: real PostgreSQL (a fresh database per
//! test), the Windmill stand-in, replicas run in-process through the library
//! or as the built `flexcore-scheduler` binary (where `kill -9` is needed).
//! One test binary, a module per behaviour; [`harness`] starts things.
//!
//! Needs `cargo build --workspace` first (for the binaries), PostgreSQL on
//! 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
#![allow(clippy::unwrap_used)]

mod cli;
mod cut;
mod failover;
mod functions;
mod harness;
mod outage;
mod overlap;
mod retries;
mod ticks;
mod workflows;
