//! The in-process event transport, for one node without Redis: a bounded
//! queue, a worker that delivers and retries ([`super::retry`]), and dead
//! letters kept in memory. Same contract as the Redis stream, without
//! durability across restarts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::dispatch::Dispatcher;
use super::model::{DeadLetter, Event, NewEvent};
use super::retry::{Progress, RetryPolicy, Retrying, retry};
use super::{DomainEvent, EventLog, EventPublisher, domain_event};
use crate::Error;
use crate::clock::unix_ms;

/// Events waiting for the worker; past this, publishing answers 503.
const QUEUE: usize = 65_536;
/// Dead letters kept (the oldest go).
const DEAD_KEPT: usize = 10_000;

pub struct LocalEvents {
    queue: mpsc::Sender<Event>,
    dead: Arc<DeadLetters>,
    sequence: AtomicU64,
    node_id: String,
}

/// The worker half, started once the dispatcher exists.
pub struct LocalWorker {
    incoming: mpsc::Receiver<Event>,
    dead: Arc<DeadLetters>,
    policy: RetryPolicy,
}

/// The newest [`DEAD_KEPT`] dead letters.
#[derive(Default)]
struct DeadLetters(Mutex<VecDeque<DeadLetter>>);

impl LocalEvents {
    /// The publishing half, and the worker to start with [`LocalWorker::start`].
    pub fn new(node_id: &str, policy: RetryPolicy) -> (Arc<Self>, LocalWorker) {
        let (queue, incoming) = mpsc::channel::<Event>(QUEUE);
        let dead = Arc::new(DeadLetters::default());
        let worker = LocalWorker {
            incoming,
            dead: Arc::clone(&dead),
            policy,
        };
        (
            Arc::new(Self {
                queue,
                dead,
                sequence: AtomicU64::new(0),
                node_id: node_id.to_owned(),
            }),
            worker,
        )
    }

    fn enqueue(&self, new: NewEvent) -> Result<String, Error> {
        let time_unix_ms = unix_ms();
        let id = format!("{time_unix_ms}-{}", self.sequence.fetch_add(1, Ordering::Relaxed));
        let event = Event {
            id: id.clone(),
            event_type: new.event_type,
            source: new.source,
            time_unix_ms,
            data: new.data,
        };
        self.queue.try_send(event).map_err(|_| Error::ServiceUnavailable {
            service: "events",
            message: "the event queue is full; try again later".into(),
        })?;
        Ok(id)
    }
}

impl LocalWorker {
    /// Delivers queued events until every publisher is gone.
    pub fn start(self, dispatcher: Arc<Dispatcher>) {
        let Self {
            mut incoming,
            dead,
            policy,
        } = self;
        tokio::spawn(async move {
            while let Some(event) = incoming.recv().await {
                let attempt = dispatcher.deliver(&event, &[]).await;
                if !attempt.failed.is_empty() {
                    let dispatcher = Arc::clone(&dispatcher);
                    let dead = Arc::clone(&dead);
                    let progress = Progress {
                        attempts: 1,
                        done: attempt.done,
                    };
                    tokio::spawn(async move {
                        retry(&*dead, &dispatcher, policy, event, progress, attempt.failed).await;
                    });
                }
            }
        });
    }
}

/// Nothing to remember between attempts and nothing to release: the event
/// lives only in the retrying task.
#[async_trait]
impl Retrying for DeadLetters {
    async fn wait(&self, _event: &Event, delay: Duration) {
        tokio::time::sleep(delay).await;
    }

    async fn bury(&self, letters: Vec<DeadLetter>) {
        let mut dead = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for letter in letters {
            if dead.len() == DEAD_KEPT {
                dead.pop_front();
            }
            dead.push_back(letter);
        }
    }
}

#[async_trait]
impl EventLog for LocalEvents {
    async fn append(&self, event: NewEvent) -> Result<String, Error> {
        self.enqueue(event)
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let dead = self.dead.0.lock().unwrap_or_else(|e| e.into_inner());
        Ok(dead.iter().rev().take(limit).cloned().collect())
    }
}

impl EventPublisher for LocalEvents {
    fn publish(&self, event: DomainEvent) {
        if let Err(e) = self.enqueue(domain_event(&event, &self.node_id)) {
            tracing::debug!("domain event dropped: {e}");
        }
    }
}
