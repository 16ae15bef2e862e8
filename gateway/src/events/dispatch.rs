//! Delivering one event to the targets subscribed to its type: one attempt,
//! whose failures the transport retries ([`super::retry`]).

use std::sync::Arc;

use http::HeaderValue;
use uuid::Uuid;

use super::model::Event;
use super::retry::Failed;
use super::subscriptions::{SubscriptionIndex, Target};
use crate::host::{Invocation, PluginHost};
use crate::pipelines::Pipelines;
use crate::pipelines::service::ExecutePipeline;

/// What one delivery attempt did.
#[derive(Debug, Default)]
pub struct Attempt {
    /// Subscriptions whose target succeeded.
    pub done: Vec<Uuid>,
    /// Subscriptions whose target failed, with why.
    pub failed: Failed,
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
