//! The event transport, chosen once at start-up: the Redis stream in a
//! cluster, the in-process queue otherwise.
//!
//! Both of its faces, the [`EventLog`] callers publish to and the
//! [`EventPublisher`] of domain events, exist from the start; delivery
//! starts later ([`Transport::start`]), once the dispatcher exists, since the
//! dispatcher needs the pipelines, which publish through the transport.

use std::sync::Arc;

use flexcore_infra::redis::RedisPool;
use tokio::sync::watch;

use super::dispatch::Dispatcher;
use super::local::{LocalEvents, LocalWorker};
use super::retry::RetryPolicy;
use super::stream::{self, StreamConsumer, StreamEvents};
use super::{EventLog, EventPublisher};
use crate::cluster::Cluster;
use crate::cluster::keys::Keys;
use crate::config::FlexCoreConfig;

/// Each transport as its publishing half and its not yet started delivery half.
pub enum Transport {
    /// Redis Streams, shared by every node of a cluster.
    Stream {
        events: Arc<StreamEvents>,
        consumer: StreamConsumer,
    },
    /// The in-process queue of a single node.
    Local {
        events: Arc<LocalEvents>,
        worker: LocalWorker,
    },
}

impl Transport {
    /// The stream when this node is in a cluster (`redis` and `cluster` both
    /// present), the local queue otherwise. Delivery stops on `stop`.
    pub fn open(
        config: &FlexCoreConfig,
        redis: Option<RedisPool>,
        cluster: Option<&Arc<Cluster>>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let policy = RetryPolicy {
            max_attempts: config.events.max_attempts,
            backoff: config.events.retry_backoff,
        };
        let (Some(pool), Some(cluster)) = (redis, cluster) else {
            let (events, worker) = LocalEvents::new(&config.node_id, policy);
            return Self::Local { events, worker };
        };
        let keys = Keys::new(&config.redis_prefix);
        let settings = stream::Settings {
            redis_url: config
                .redis_url
                .as_ref()
                .map(|u| u.expose().to_owned())
                .unwrap_or_default(),
            keys: keys.clone(),
            node_id: config.node_id.clone(),
            policy,
            reclaim_idle: config.events.reclaim_idle,
            batch: config.events.batch,
        };
        Self::Stream {
            events: StreamEvents::new(pool.clone(), keys, &config.node_id),
            consumer: StreamConsumer::new(settings, pool, cluster.leader_flag(), stop),
        }
    }

    /// Where `POST /events` appends and dead letters are read.
    pub fn log(&self) -> Arc<dyn EventLog> {
        match self {
            Self::Stream { events, .. } => Arc::clone(events) as Arc<dyn EventLog>,
            Self::Local { events, .. } => Arc::clone(events) as Arc<dyn EventLog>,
        }
    }

    /// Where domain events are published.
    pub fn publisher(&self) -> Arc<dyn EventPublisher> {
        match self {
            Self::Stream { events, .. } => Arc::clone(events) as Arc<dyn EventPublisher>,
            Self::Local { events, .. } => Arc::clone(events) as Arc<dyn EventPublisher>,
        }
    }

    /// Starts delivering events to their targets through `dispatcher`.
    pub fn start(self, dispatcher: Arc<Dispatcher>) {
        match self {
            Self::Stream { consumer, .. } => consumer.start(dispatcher),
            Self::Local { worker, .. } => worker.start(dispatcher),
        }
    }
}
