//! End-to-end tests of the cluster: three real `flexcore-gateway` processes
//! per test, on the real PostgreSQL (a fresh database each) and Redis (a key
//! prefix each, or a private `redis-server` where Redis itself must go down),
//! killed with SIGKILL where the issue says `kill -9`. One test binary, a
//! module per behaviour; [`harness`] starts and inspects clusters.
//!
//! Needs `cargo build --workspace` first (the binary and the plugins), a C
//! compiler, PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379;
//! `nginx` and `redis-server` for the tests that use them (they say so and
//! skip when those are not installed).
#![allow(clippy::unwrap_used)]

mod dead_letters;
mod events;
mod failover;
mod harness;
mod membership;
mod nginx;
mod redis_restart;
