//! The Redis Streams transport, for a cluster: events are appended to one
//! stream, every node reads it in one consumer group, and an entry is
//! acknowledged only once all its targets succeeded.
//!
//! - Reading uses a dedicated connection (`XREADGROUP ... BLOCK`); entries are
//!   acknowledged in small chunks, so a node killed mid-batch leaves few
//!   entries done-but-unacknowledged (the only source of duplicates).
//! - A failing entry stays pending while its consumer retries it with
//!   backoff, re-claiming it before each attempt so that nobody takes it over;
//!   its progress (attempts, targets done) is kept in a hash, so whoever
//!   finishes it skips the targets already done. After `max_attempts` each
//!   still-failing target becomes an entry of the dead-letter stream.
//! - The leader takes over entries pending longer than `reclaim_idle` at any
//!   consumer (one that died) with `XAUTOCLAIM`, and delivers them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use flexcore_infra::redis::{RedisPool, redis};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::dispatch::{Dispatcher, RetryPolicy};
use super::model::{DeadLetter, Event, NewEvent};
use super::redis_link::RedisLink;
use super::{DomainEvent, EventLog, EventPublisher, domain_event};
use crate::Error;
use crate::clock::unix_ms;
use crate::cluster::keys::{CONSUMER_GROUP, Keys};
use crate::cluster::membership::pool_error;

/// Entries the stream keeps (approximately); older ones are trimmed.
const STREAM_MAX_LEN: u64 = 1_000_000;
/// Entries delivered between acknowledgements.
const ACK_CHUNK: usize = 16;

/// What the transport needs.
pub struct Settings {
    pub redis_url: String,
    pub keys: Keys,
    pub node_id: String,
    pub policy: RetryPolicy,
    pub reclaim_idle: Duration,
    pub batch: usize,
}

pub struct StreamEvents {
    pool: RedisPool,
    /// Publishing pipelines on one connection (no checkout per event).
    link: RedisLink,
    keys: Keys,
    node_id: String,
    domain: mpsc::Sender<NewEvent>,
}

/// Targets that failed an attempt, with why.
type Failed = Vec<(super::subscriptions::Subscription, String)>;

/// An entry's progress after a failure.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    attempts: u32,
    done: Vec<Uuid>,
}

impl StreamEvents {
    /// The publishing half (and its domain-event forwarder).
    pub fn new(pool: RedisPool, keys: Keys, node_id: &str) -> Arc<Self> {
        let (domain, mut domain_events) = mpsc::channel::<NewEvent>(16_384);
        let this = Arc::new(Self {
            link: RedisLink::new(pool.clone()),
            pool,
            keys,
            node_id: node_id.to_owned(),
            domain,
        });
        let forwarder = Arc::clone(&this);
        tokio::spawn(async move {
            while let Some(event) = domain_events.recv().await {
                if let Err(e) = forwarder.append(event).await {
                    tracing::debug!("domain event not published: {e}");
                }
            }
        });
        this
    }

    /// Starts this node's consumer until `shutdown`.
    pub fn start_consumer(
        settings: Settings,
        pool: RedisPool,
        dispatcher: Arc<Dispatcher>,
        is_leader: Arc<AtomicBool>,
        shutdown: watch::Receiver<bool>,
    ) {
        let consumer = Consumer {
            settings,
            link: RedisLink::new(pool.clone()),
            pool,
            dispatcher,
            is_leader,
        };
        tokio::spawn(consumer.run(shutdown));
    }

    async fn xadd(&self, event: &NewEvent) -> Result<String, redis::RedisError> {
        let mut conn = self.link.get().await?;
        let data = serde_json::to_string(&event.data).unwrap_or_else(|_| "null".into());
        let added = redis::cmd("XADD")
            .arg(self.keys.events())
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg("type")
            .arg(&event.event_type)
            .arg("source")
            .arg(&event.source)
            .arg("time")
            .arg(unix_ms())
            .arg("data")
            .arg(data)
            .query_async(&mut conn)
            .await;
        if let Err(e) = &added {
            self.link.failed(e);
        }
        added
    }
}

#[async_trait]
impl EventLog for StreamEvents {
    async fn append(&self, event: NewEvent) -> Result<String, Error> {
        self.xadd(&event).await.map_err(|e| Error::ServiceUnavailable {
            service: "events",
            message: format!("Redis: {e}"),
        })
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
        let unavailable = |e: redis::RedisError| Error::ServiceUnavailable {
            service: "events",
            message: format!("Redis: {e}"),
        };
        let mut conn = self.pool.get().await.map_err(pool_error).map_err(unavailable)?;
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(self.keys.dead_letters())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut *conn)
            .await
            .map_err(unavailable)?;
        Ok(entries
            .into_iter()
            .filter_map(|(_, fields)| {
                let letter = fields.into_iter().find(|(k, _)| k == "letter")?.1;
                serde_json::from_str(&letter).ok()
            })
            .collect())
    }
}

impl EventPublisher for StreamEvents {
    fn publish(&self, event: DomainEvent) {
        if self.domain.try_send(domain_event(&event, &self.node_id)).is_err() {
            tracing::debug!("domain event dropped: the forwarder is behind");
        }
    }
}

/// Reads the stream and delivers.
struct Consumer {
    settings: Settings,
    pool: RedisPool,
    /// Acknowledgements pipeline on one connection.
    link: RedisLink,
    dispatcher: Arc<Dispatcher>,
    is_leader: Arc<AtomicBool>,
}

impl Consumer {
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut last_reclaim = Instant::now();
        'connect: loop {
            if *shutdown.borrow() {
                return;
            }
            let mut conn = match flexcore_infra::redis::dedicated(&this.settings.redis_url).await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("event consumer cannot reach Redis: {e}");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue 'connect,
                        _ = shutdown.changed() => return,
                    }
                }
            };
            this.create_group(&mut conn).await;
            loop {
                if *shutdown.borrow() {
                    return;
                }
                let mut command = redis::cmd("XREADGROUP");
                command
                    .arg("GROUP")
                    .arg(CONSUMER_GROUP)
                    .arg(&this.settings.node_id)
                    .arg("COUNT")
                    .arg(this.settings.batch)
                    .arg("BLOCK")
                    .arg(500)
                    .arg("STREAMS")
                    .arg(this.settings.keys.events())
                    .arg(">");
                let read = command.query_async::<Option<StreamReadReply>>(&mut conn);
                let reply = tokio::select! {
                    reply = read => reply,
                    _ = shutdown.changed() => return,
                };
                match reply {
                    Ok(reply) => {
                        let entries = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).collect();
                        Arc::clone(&this).deliver_all(entries).await;
                    }
                    Err(e) if e.code() == Some("NOGROUP") => this.create_group(&mut conn).await,
                    Err(e) => {
                        tracing::warn!("event stream read failed: {e}; reconnecting");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue 'connect;
                    }
                }
                if this.is_leader.load(Ordering::Relaxed) && last_reclaim.elapsed() >= Duration::from_secs(1) {
                    last_reclaim = Instant::now();
                    Arc::clone(&this).reclaim().await;
                }
            }
        }
    }

    async fn create_group(&self, conn: &mut redis::aio::MultiplexedConnection) {
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.settings.keys.events())
            .arg(CONSUMER_GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async::<()>(conn)
            .await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            tracing::warn!("cannot create the consumer group: {e}");
        }
    }

    /// Delivers entries in order, acknowledging successes in small chunks.
    async fn deliver_all(self: Arc<Self>, entries: Vec<StreamId>) {
        let mut acks = Vec::with_capacity(ACK_CHUNK);
        for entry in entries {
            let Some(event) = event_of(&entry) else {
                tracing::warn!(id = %entry.id, "malformed stream entry; acknowledged and skipped");
                acks.push(entry.id);
                continue;
            };
            let attempt = self.dispatcher.deliver(&event, &[]).await;
            if attempt.failed.is_empty() {
                acks.push(event.id);
            } else {
                let progress = Progress {
                    attempts: 1,
                    done: attempt.done,
                };
                tokio::spawn(Arc::clone(&self).retry(event, progress, attempt.failed));
            }
            if acks.len() >= ACK_CHUNK {
                self.ack_later(std::mem::take(&mut acks));
            }
        }
        if !acks.is_empty() {
            self.ack_later(acks);
        }
    }

    /// Acknowledges off the delivery path: waiting for Redis after every
    /// chunk would cap delivery at a chunk per round trip, and hold the next
    /// read back. An ack still in flight when the node dies only means its
    /// entries are reclaimed and delivered again.
    fn ack_later(self: &Arc<Self>, ids: Vec<String>) {
        let this = Arc::clone(self);
        tokio::spawn(async move { this.ack(&ids).await });
    }

    /// The leader's chore: take over entries idle too long at any consumer.
    async fn reclaim(self: Arc<Self>) {
        let claimed = async {
            let mut conn = self.pool.get().await.map_err(pool_error)?;
            redis::cmd("XAUTOCLAIM")
                .arg(self.settings.keys.events())
                .arg(CONSUMER_GROUP)
                .arg(&self.settings.node_id)
                .arg(self.settings.reclaim_idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(self.settings.batch)
                .query_async::<StreamAutoClaimReply>(&mut *conn)
                .await
        }
        .await;
        let entries = match claimed {
            Ok(reply) => reply.claimed,
            Err(e) => {
                tracing::warn!("cannot reclaim pending events: {e}");
                return;
            }
        };
        if entries.is_empty() {
            return;
        }
        tracing::info!(count = entries.len(), "reclaimed events pending at a dead consumer");
        for entry in entries {
            let Some(event) = event_of(&entry) else {
                self.ack(&[entry.id]).await;
                continue;
            };
            let progress = self.progress(&event.id).await;
            let attempt = self.dispatcher.deliver(&event, &progress.done).await;
            if attempt.failed.is_empty() {
                self.finish(&event.id).await;
            } else {
                let mut done = progress.done;
                done.extend(attempt.done);
                let progress = Progress {
                    attempts: progress.attempts + 1,
                    done,
                };
                tokio::spawn(Arc::clone(&self).retry(event, progress, attempt.failed));
            }
        }
    }

    /// Retries an entry's failed targets with backoff, then acknowledges it
    /// or dead-letters what still fails.
    async fn retry(self: Arc<Self>, event: Event, mut progress: Progress, mut failed: Failed) {
        let policy = self.settings.policy;
        loop {
            if progress.attempts >= policy.max_attempts {
                self.dead_letter(&event, progress.attempts, failed).await;
                self.finish(&event.id).await;
                return;
            }
            self.save_progress(&event.id, &progress).await;
            // Sleep in slices shorter than reclaim_idle, re-claiming the entry
            // each time, so that the leader does not take it over meanwhile.
            let mut left = policy.delay(progress.attempts);
            while !left.is_zero() {
                self.keep(&event.id).await;
                let slice = left.min(self.settings.reclaim_idle / 2);
                tokio::time::sleep(slice).await;
                left -= slice;
            }
            self.keep(&event.id).await;
            let attempt = self.dispatcher.deliver(&event, &progress.done).await;
            progress.attempts += 1;
            progress.done.extend(attempt.done);
            if attempt.failed.is_empty() {
                self.finish(&event.id).await;
                return;
            }
            failed = attempt.failed;
        }
    }

    async fn dead_letter(&self, event: &Event, attempts: u32, failed: Failed) {
        let Ok(mut conn) = self.pool.get().await else { return };
        for (subscription, error) in failed {
            tracing::warn!(event = %event.id, target = %subscription.target, "event dead-lettered: {error}");
            let letter = DeadLetter {
                event: event.clone(),
                subscription_id: subscription.id,
                target: subscription.target.to_string(),
                attempts,
                error,
                failed_at_unix_ms: unix_ms(),
            };
            let Ok(json) = serde_json::to_string(&letter) else {
                continue;
            };
            let added = redis::cmd("XADD")
                .arg(self.settings.keys.dead_letters())
                .arg("MAXLEN")
                .arg("~")
                .arg(100_000)
                .arg("*")
                .arg("letter")
                .arg(json)
                .query_async::<String>(&mut *conn)
                .await;
            if let Err(e) = added {
                tracing::error!(event = %event.id, "cannot write the dead letter: {e}");
            }
        }
    }

    async fn ack(&self, ids: &[String]) {
        let acked = async {
            let mut conn = self.link.get().await?;
            redis::cmd("XACK")
                .arg(self.settings.keys.events())
                .arg(CONSUMER_GROUP)
                .arg(ids)
                .query_async::<u64>(&mut conn)
                .await
        }
        .await;
        if let Err(e) = acked {
            self.link.failed(&e);
            // Unacknowledged entries are reclaimed and delivered again later.
            tracing::warn!("cannot acknowledge {} events: {e}", ids.len());
        }
    }

    /// Acknowledges an entry that failed before, and forgets its progress.
    async fn finish(&self, id: &str) {
        self.ack(&[id.to_owned()]).await;
        if let Ok(mut conn) = self.pool.get().await {
            let _ = redis::cmd("HDEL")
                .arg(self.settings.keys.progress())
                .arg(id)
                .query_async::<u64>(&mut *conn)
                .await;
        }
    }

    /// Re-claims an entry for this consumer, which resets its idle time.
    async fn keep(&self, id: &str) {
        if let Ok(mut conn) = self.pool.get().await {
            let _ = redis::cmd("XCLAIM")
                .arg(self.settings.keys.events())
                .arg(CONSUMER_GROUP)
                .arg(&self.settings.node_id)
                .arg(0)
                .arg(id)
                .arg("JUSTID")
                .query_async::<Vec<String>>(&mut *conn)
                .await;
        }
    }

    async fn progress(&self, id: &str) -> Progress {
        let Ok(mut conn) = self.pool.get().await else {
            return Progress::default();
        };
        let json: Option<String> = redis::cmd("HGET")
            .arg(self.settings.keys.progress())
            .arg(id)
            .query_async(&mut *conn)
            .await
            .ok()
            .flatten();
        json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
    }

    async fn save_progress(&self, id: &str, progress: &Progress) {
        let Ok(json) = serde_json::to_string(progress) else {
            return;
        };
        if let Ok(mut conn) = self.pool.get().await {
            let _ = redis::cmd("HSET")
                .arg(self.settings.keys.progress())
                .arg(id)
                .arg(json)
                .query_async::<u64>(&mut *conn)
                .await;
        }
    }
}

/// Reads an event out of a stream entry.
fn event_of(entry: &StreamId) -> Option<Event> {
    let text = |field: &str| -> Option<String> { entry.get::<String>(field) };
    Some(Event {
        id: entry.id.clone(),
        event_type: text("type")?,
        source: text("source").unwrap_or_default(),
        time_unix_ms: text("time").and_then(|t| t.parse().ok()).unwrap_or_default(),
        data: serde_json::from_str(&text("data").unwrap_or_else(|| "null".into())).unwrap_or(serde_json::Value::Null),
    })
}
