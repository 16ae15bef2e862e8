//! The Redis Streams transport, for a cluster: events are appended to one
//! stream, every node reads it in one consumer group, and an entry is
//! acknowledged only once all its targets succeeded.
//!
//! - [`publish`]: appending events (`POST /events`, domain events) and
//!   reading the dead-letter stream;
//! - [`consume`]: reading the stream on a dedicated connection
//!   (`XREADGROUP ... BLOCK`) and delivering; entries are acknowledged in
//!   small chunks, so a node killed mid-batch leaves few entries
//!   done-but-unacknowledged (the only source of duplicates). The leader
//!   takes over entries pending longer than `reclaim_idle` at any consumer
//!   (one that died) with `XAUTOCLAIM`, and delivers them;
//! - [`retry`]: the stream's side of [`super::retry`]: a failing entry stays
//!   pending while its consumer retries it, re-claiming it during the
//!   backoff so that nobody takes it over; its progress (attempts, targets
//!   done) is kept in a hash, so whoever finishes it skips the targets
//!   already done. Each target still failing after `max_attempts` becomes an
//!   entry of the dead-letter stream.

mod consume;
mod publish;
mod retry;

use std::time::Duration;

pub use consume::StreamConsumer;
pub use publish::StreamEvents;

use super::retry::RetryPolicy;
use crate::cluster::keys::Keys;

/// What the consuming side needs.
pub struct Settings {
    pub redis_url: String,
    pub keys: Keys,
    pub node_id: String,
    pub policy: RetryPolicy,
    pub reclaim_idle: Duration,
    pub batch: usize,
}
