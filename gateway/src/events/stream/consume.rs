//! The consuming side of the stream: this node's reader in the consumer
//! group, delivery with acknowledgements in small chunks, and the leader's
//! takeover of entries a dead consumer left pending.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flexcore_infra::redis::{RedisPool, redis};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use tokio::sync::watch;

use super::Settings;
use crate::cluster::keys::CONSUMER_GROUP;
use crate::cluster::membership::pool_error;
use crate::events::dispatch::Dispatcher;
use crate::events::model::Event;
use crate::events::redis_link::RedisLink;
use crate::events::retry::{Failed, Progress, retry};

/// Entries delivered between acknowledgements.
const ACK_CHUNK: usize = 16;

/// The consuming half, started once the dispatcher exists.
pub struct StreamConsumer {
    settings: Settings,
    pool: RedisPool,
    is_leader: Arc<AtomicBool>,
    shutdown: watch::Receiver<bool>,
}

impl StreamConsumer {
    /// A consumer that reclaims dead consumers' entries while `is_leader`,
    /// and stops on `shutdown`.
    pub fn new(
        settings: Settings,
        pool: RedisPool,
        is_leader: Arc<AtomicBool>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            settings,
            pool,
            is_leader,
            shutdown,
        }
    }

    /// Starts reading and delivering to `dispatcher`.
    pub fn start(self, dispatcher: Arc<Dispatcher>) {
        let consumer = Consumer {
            settings: self.settings,
            link: RedisLink::new(self.pool.clone()),
            pool: self.pool,
            dispatcher,
            is_leader: self.is_leader,
        };
        tokio::spawn(consumer.run(self.shutdown));
    }
}

/// Reads the stream and delivers.
pub(super) struct Consumer {
    pub(super) settings: Settings,
    pub(super) pool: RedisPool,
    /// Acknowledgements pipeline on one connection.
    link: RedisLink,
    pub(super) dispatcher: Arc<Dispatcher>,
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
                self.retry_later(event, progress, attempt.failed);
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

    /// Retries an entry off the delivery path; it stays pending meanwhile.
    fn retry_later(self: &Arc<Self>, event: Event, progress: Progress, failed: Failed) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let policy = this.settings.policy;
            retry(&*this, &this.dispatcher, policy, event, progress, failed).await;
        });
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
                self.release(&event.id).await;
            } else {
                let mut done = progress.done;
                done.extend(attempt.done);
                let progress = Progress {
                    attempts: progress.attempts + 1,
                    done,
                };
                self.retry_later(event, progress, attempt.failed);
            }
        }
    }

    pub(super) async fn ack(&self, ids: &[String]) {
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
