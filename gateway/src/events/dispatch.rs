//! Delivering one event to the targets subscribed to its type, and the
//! retry policy every transport follows when a target fails.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use uuid::Uuid;

use super::model::Event;
use super::subscriptions::{Subscription, SubscriptionIndex, Target};
use crate::host::{Invocation, PluginHost};
use crate::pipelines::Pipelines;
use crate::pipelines::service::ExecutePipeline;

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

/// What one delivery attempt did.
#[derive(Debug, Default)]
pub struct Attempt {
    /// Subscriptions whose target succeeded.
    pub done: Vec<Uuid>,
    /// Subscriptions whose target failed, with why.
    pub failed: Vec<(Subscription, String)>,
}

/// Routes events to their subscribed targets.
pub struct Dispatcher {
    host: Arc<PluginHost>,
    pipelines: Arc<Pipelines>,
    index: Arc<SubscriptionIndex>,
}

impl Dispatcher {
    pub fn new(host: Arc<PluginHost>, pipelines: Arc<Pipelines>, index: Arc<SubscriptionIndex>) -> Self {
        Self { host, pipelines, index }
    }

    pub fn index(&self) -> &SubscriptionIndex {
        &self.index
    }

    /// Invokes every target subscribed to the event's type, except those in
    /// `skip` (already done by an earlier attempt).
    pub async fn deliver(&self, event: &Event, skip: &[Uuid]) -> Attempt {
        let subscriptions = self.index.matching(&event.event_type);
        let mut attempt = Attempt::default();
        if subscriptions.is_empty() {
            return attempt;
        }
        let body = event.body();
        let request_id = HeaderValue::try_from(event.id.as_str()).unwrap_or_else(|_| HeaderValue::from_static(""));
        for subscription in subscriptions.into_iter().filter(|s| !skip.contains(&s.id)) {
            let result = match &subscription.target {
                Target::Plugin(name) => {
                    let call = Invocation {
                        body: body.clone(),
                        content_type: Some(HeaderValue::from_static("application/json")),
                        request_id: request_id.clone(),
                        config: None,
                    };
                    self.host.invoke(name, call).await.map(drop)
                }
                Target::Pipeline(id) => {
                    let run = ExecutePipeline {
                        pipeline_id: *id,
                        body: body.clone(),
                        content_type: Some(HeaderValue::from_static("application/json")),
                        request_id: request_id.clone(),
                    };
                    self.pipelines.execute(run).await.map(drop)
                }
            };
            match result {
                Ok(()) => attempt.done.push(subscription.id),
                Err(e) => attempt.failed.push((subscription, e.to_string())),
            }
        }
        attempt
    }
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
