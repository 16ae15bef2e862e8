//! Events: what callers publish (`POST /events`), where each goes
//! (subscriptions), how it gets there at least once (a transport), and the
//! domain events every feature emits on the same path.
//!
//! - [`domain`]: the domain events, plain values;
//! - [`model`]: published events, delivered events, dead letters;
//! - [`subscriptions`]: event type → function or pipeline, and each node's index;
//! - [`dispatch`]: delivering one event to its targets, one attempt;
//! - [`retry`]: the retry policy, the one loop that applies it, dead letters;
//! - [`local`]: the in-process transport (one node, embedded default);
//! - [`stream`]: the Redis Streams transport (a cluster);
//! - [`transport`]: which of the two carries events, chosen at start-up;
//! - `redis_link`: the one multiplexed connection its hot paths share;
//! - [`bus`]: a broadcast publisher for in-process observers and benchmarks;
//! - [`http`]: the `/events` and `/subscriptions` handlers.

mod bus;
pub(crate) mod dispatch;
mod domain;
pub(crate) mod http;
pub(crate) mod local;
pub(crate) mod model;
mod redis_link;
pub(crate) mod retry;
pub(crate) mod stream;
pub mod subscriptions;
pub(crate) mod transport;

use async_trait::async_trait;

pub use bus::{EventPublisher, InProcessBus, WantedOnly};
pub use domain::{DomainEvent, Outcome};
use model::{DeadLetter, NewEvent};

use crate::Error;

/// Where published events are appended and dead letters are read.
#[async_trait]
pub(crate) trait EventLog: Send + Sync {
    /// Appends the event; the id it returns is durable as the transport is.
    async fn append(&self, event: NewEvent) -> Result<String, Error>;
    /// The newest dead letters first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error>;
}

/// A domain event as a published event: type `flexcore.<kind>`, this node
/// as the source, the event's fields as data.
pub(crate) fn domain_event(event: &DomainEvent, node_id: &str) -> NewEvent {
    NewEvent {
        event_type: event.wire_type().to_owned(),
        source: node_id.to_owned(),
        data: serde_json::to_value(event).unwrap_or_default(),
    }
}
