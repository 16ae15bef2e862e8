//! The one retry policy of event delivery, and the one loop that applies it
//! for every transport.
//!
//! A target that failed is tried again after a doubling backoff, skipping the
//! targets already done; after `max_attempts` attempts each target still
//! failing becomes a [`DeadLetter`]. What differs between transports is
//! behind [`Retrying`]: how a transport waits, what it remembers between
//! attempts, where its dead letters go, and how it lets go of the event.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::dispatch::Dispatcher;
use super::model::{DeadLetter, Event};
use super::subscriptions::Subscription;
use crate::clock::unix_ms;

/// How often and how patiently a failing target is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): doubling, at most 30 s.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        (self.backoff * factor).min(Duration::from_secs(30))
    }
}

/// Targets that failed an attempt, with why.
pub type Failed = Vec<(Subscription, String)>;

/// How far an event got: attempts made, and the subscriptions whose target
/// already succeeded (never delivered to again).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    pub attempts: u32,
    pub done: Vec<Uuid>,
}

/// What a transport does around the retry loop.
#[async_trait]
pub trait Retrying: Send + Sync {
    /// Records `progress` before the wait, for whoever finishes the event.
    async fn save(&self, _event: &Event, _progress: &Progress) {}

    /// Waits `delay` before the next attempt.
    async fn wait(&self, event: &Event, delay: Duration);

    /// Keeps the dead letters of the targets that failed every attempt.
    async fn bury(&self, letters: Vec<DeadLetter>);

    /// Lets go of the event: every target succeeded or was dead-lettered.
    async fn finish(&self, _event: &Event) {}
}

/// Retries the `failed` targets of `event` until they succeed or `policy`
/// runs out of attempts; then each still failing one becomes a dead letter.
pub async fn retry<T: Retrying + ?Sized>(
    transport: &T,
    dispatcher: &Dispatcher,
    policy: RetryPolicy,
    event: Event,
    mut progress: Progress,
    mut failed: Failed,
) {
    loop {
        if progress.attempts >= policy.max_attempts {
            transport.bury(dead_letters(&event, progress.attempts, failed)).await;
            transport.finish(&event).await;
            return;
        }
        transport.save(&event, &progress).await;
        transport.wait(&event, policy.delay(progress.attempts)).await;
        let attempt = dispatcher.deliver(&event, &progress.done).await;
        progress.attempts += 1;
        progress.done.extend(attempt.done);
        if attempt.failed.is_empty() {
            transport.finish(&event).await;
            return;
        }
        failed = attempt.failed;
    }
}

/// One dead letter per target that failed all `attempts`.
fn dead_letters(event: &Event, attempts: u32, failed: Failed) -> Vec<DeadLetter> {
    let failed_at_unix_ms = unix_ms();
    failed
        .into_iter()
        .map(|(subscription, error)| {
            tracing::warn!(event = %event.id, target = %subscription.target, "event dead-lettered: {error}");
            DeadLetter {
                event: event.clone(),
                subscription_id: subscription.id,
                target: subscription.target.to_string(),
                attempts,
                error,
                failed_at_unix_ms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            backoff: Duration::from_millis(100),
        };
        assert_eq!(policy.delay(1), Duration::from_millis(100));
        assert_eq!(policy.delay(2), Duration::from_millis(200));
        assert_eq!(policy.delay(4), Duration::from_millis(800));
        assert_eq!(policy.delay(40), Duration::from_secs(30));
    }
}
