//! The event publisher port and its in-process implementation: a broadcast
//! channel that any number of in-process subscribers read.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::DomainEvent;
use super::subscriptions::SubscriptionIndex;

/// Where domain events go. Publishing never blocks and never fails the
/// operation that produced the event.
pub trait EventPublisher: Send + Sync {
    fn publish(&self, event: DomainEvent);

    /// Whether events of this type have an audience; a producer may skip
    /// building events that do not.
    fn wants(&self, _wire_type: &str) -> bool {
        true
    }
}

/// Passes on only the events some subscription wants, so that a domain
/// event nobody listens to costs no serialisation and no transport.
pub struct WantedOnly {
    inner: Arc<dyn EventPublisher>,
    index: Arc<SubscriptionIndex>,
}

impl WantedOnly {
    pub fn new(inner: Arc<dyn EventPublisher>, index: Arc<SubscriptionIndex>) -> Self {
        Self { inner, index }
    }
}

impl EventPublisher for WantedOnly {
    fn publish(&self, event: DomainEvent) {
        if self.index.wants(event.wire_type()) {
            self.inner.publish(event);
        }
    }

    fn wants(&self, wire_type: &str) -> bool {
        self.index.wants(wire_type)
    }
}

/// Delivers events to in-process subscribers. Slow subscribers that fall
/// more than `capacity` events behind lose the oldest ones (and are told so).
#[derive(Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Arc<DomainEvent>>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }

    /// A new subscription, seeing every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<DomainEvent>> {
        self.sender.subscribe()
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl EventPublisher for InProcessBus {
    fn publish(&self, event: DomainEvent) {
        // No subscriber is not an error: the event simply has no audience.
        let _ = self.sender.send(Arc::new(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_events_in_order() {
        let bus = InProcessBus::new(8);
        let mut rx = bus.subscribe();
        bus.publish(DomainEvent::PluginRefused {
            file: "a".into(),
            reason: "x".into(),
        });
        bus.publish(DomainEvent::PluginRefused {
            file: "b".into(),
            reason: "y".into(),
        });
        assert!(matches!(&*rx.recv().await.unwrap(), DomainEvent::PluginRefused { file, .. } if file == "a"));
        assert!(matches!(&*rx.recv().await.unwrap(), DomainEvent::PluginRefused { file, .. } if file == "b"));
    }
}
