//! The publishing side of the stream: `XADD` for every event accepted
//! (published, or a domain event), and the dead letters read back.

use std::sync::Arc;

use async_trait::async_trait;
use flexcore_infra::redis::{RedisPool, redis};
use tokio::sync::mpsc;

use crate::Error;
use crate::clock::unix_ms;
use crate::cluster::keys::Keys;
use crate::cluster::membership::pool_error;
use crate::events::model::{DeadLetter, NewEvent};
use crate::events::redis_link::RedisLink;
use crate::events::{DomainEvent, EventLog, EventPublisher, domain_event};

/// Entries the stream keeps (approximately); older ones are trimmed.
const STREAM_MAX_LEN: u64 = 1_000_000;

pub struct StreamEvents {
    pool: RedisPool,
    /// Publishing pipelines on one connection (no checkout per event).
    link: RedisLink,
    keys: Keys,
    node_id: String,
    domain: mpsc::Sender<NewEvent>,
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

/// Redis away: the caller may try again.
fn unavailable(e: redis::RedisError) -> Error {
    Error::ServiceUnavailable {
        service: "events",
        message: format!("Redis: {e}"),
    }
}

#[async_trait]
impl EventLog for StreamEvents {
    async fn append(&self, event: NewEvent) -> Result<String, Error> {
        self.xadd(&event).await.map_err(unavailable)
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, Error> {
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
