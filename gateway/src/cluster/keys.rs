//! The Redis key layout of a cluster, all under one prefix (`redis_prefix`):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{p}:cluster:nodes` | sorted set | node id → last heartbeat, unix ms |
//! | `{p}:cluster:node:{id}` | string, TTL | the node's [`Member`](super::Member) as JSON |
//! | `{p}:cluster:leader` | string, TTL | the leader's node id |
//! | `{p}:events` | stream | published events; consumer group `gateways` |
//! | `{p}:events:dead` | stream | events whose target kept failing |
//! | `{p}:events:progress` | hash | entry id → attempts and targets done, for entries that failed once |
//!
//! Other programs (the scheduler, tools) read membership through this layout.

/// The keys of one cluster.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub fn nodes(&self) -> String {
        format!("{}:cluster:nodes", self.prefix)
    }

    pub fn node(&self, id: &str) -> String {
        format!("{}:cluster:node:{id}", self.prefix)
    }

    pub fn leader(&self) -> String {
        format!("{}:cluster:leader", self.prefix)
    }

    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }

    pub fn dead_letters(&self) -> String {
        format!("{}:events:dead", self.prefix)
    }

    pub fn progress(&self) -> String {
        format!("{}:events:progress", self.prefix)
    }
}

/// The consumer group every gateway node reads the event stream in.
pub const CONSUMER_GROUP: &str = "gateways";
