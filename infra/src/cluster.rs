//! The wire contract of a FlexCore cluster in Redis, shared by the gateway
//! (which writes it), the scheduler (which reads membership to find gateway
//! nodes) and the tests (which play a gateway's heartbeat): the key layout,
//! [`Keys`], and the record each node heartbeats, [`Member`]. Anything that
//! reads or writes these keys goes through here, so that the layout is
//! written once.
//!
//! Every key is under one prefix (`redis_prefix`):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{p}:cluster:nodes` | sorted set | node id → last heartbeat, unix ms |
//! | `{p}:cluster:node:{id}` | string, TTL | the node's [`Member`] as JSON |
//! | `{p}:cluster:leader` | string, TTL | the leader's node id |
//! | `{p}:events` | stream | published events; consumer group [`CONSUMER_GROUP`] |
//! | `{p}:events:dead` | stream | events whose target kept failing |
//! | `{p}:events:progress` | hash | entry id → attempts and targets done, for entries that failed once |

use serde::{Deserialize, Serialize};

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

/// What a node says about itself in each heartbeat (the JSON under
/// [`Keys::node`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub node_id: String,
    /// Where other nodes and tools reach it, e.g. `http://127.0.0.1:8080`.
    pub address: String,
    pub version: String,
    pub plugins: Vec<String>,
    /// Plugin calls in flight at the heartbeat.
    pub load: u64,
    pub heartbeat_unix_ms: u64,
    /// `leader` or `follower`, as the node saw itself.
    pub role: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout other programs read: changing a key breaks them.
    #[test]
    fn keys_are_the_documented_layout() {
        let keys = Keys::new("fc");
        assert_eq!(keys.nodes(), "fc:cluster:nodes");
        assert_eq!(keys.node("gw-1"), "fc:cluster:node:gw-1");
        assert_eq!(keys.leader(), "fc:cluster:leader");
        assert_eq!(keys.events(), "fc:events");
        assert_eq!(keys.dead_letters(), "fc:events:dead");
        assert_eq!(keys.progress(), "fc:events:progress");
    }

    #[test]
    fn a_member_is_the_json_the_gateway_writes() {
        let member = Member {
            node_id: "gw-1".into(),
            address: "http://127.0.0.1:8080".into(),
            version: "0.1.0".into(),
            plugins: vec!["echo".into()],
            load: 2,
            heartbeat_unix_ms: 1_700_000_000_000,
            role: "leader".into(),
        };
        let json = serde_json::to_value(&member).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "node_id": "gw-1", "address": "http://127.0.0.1:8080", "version": "0.1.0",
                "plugins": ["echo"], "load": 2, "heartbeat_unix_ms": 1_700_000_000_000u64, "role": "leader",
            })
        );
        assert_eq!(serde_json::from_value::<Member>(json).unwrap(), member);
    }
}
