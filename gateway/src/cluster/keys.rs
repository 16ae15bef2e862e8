//! The Redis key layout of a cluster. It is the wire contract the scheduler
//! and the tests read too, so it lives in [`flexcore_infra::cluster`], with
//! the table of every key; this module names it for the gateway.

pub use flexcore_infra::cluster::{CONSUMER_GROUP, Keys};
