//! Subscriptions: which event type goes to which function or pipeline.
//! Stored in PostgreSQL in a cluster (in memory on one node); every node
//! keeps an index of them, refreshed every second and at once after a local
//! change.

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flexcore_infra::postgres::deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::storage::StoreError;
use crate::storage::postgres::{pool_error, query_error};

/// Where matching events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Target {
    /// A function: the event JSON is its input.
    Plugin(String),
    /// A pipeline, by id: the event JSON is the first step's input.
    Pipeline(Uuid),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plugin(name) => write!(f, "plugin:{name}"),
            Self::Pipeline(id) => write!(f, "pipeline:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub id: Uuid,
    /// An exact event type, or `*` for every event.
    pub event_type: String,
    pub target: Target,
    pub created_at: DateTime<Utc>,
}

impl Subscription {
    pub fn matches(&self, event_type: &str) -> bool {
        self.event_type == "*" || self.event_type == event_type
    }
}

#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    async fn insert(&self, subscription: &Subscription) -> Result<(), StoreError>;
    /// Whether it existed.
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError>;
    async fn list(&self) -> Result<Vec<Subscription>, StoreError>;
}

#[derive(Default)]
pub struct MemorySubscriptions {
    subscriptions: std::sync::Mutex<Vec<Subscription>>,
}

#[async_trait]
impl SubscriptionStore for MemorySubscriptions {
    async fn insert(&self, subscription: &Subscription) -> Result<(), StoreError> {
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscription.clone());
        Ok(())
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut subscriptions = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        let before = subscriptions.len();
        subscriptions.retain(|s| s.id != id);
        Ok(subscriptions.len() != before)
    }

    async fn list(&self) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.subscriptions.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

pub struct PgSubscriptions {
    pool: Pool,
}

impl PgSubscriptions {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SubscriptionStore for PgSubscriptions {
    async fn insert(&self, s: &Subscription) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let (kind, target) = match &s.target {
            Target::Plugin(name) => ("plugin", name.clone()),
            Target::Pipeline(id) => ("pipeline", id.to_string()),
        };
        client
            .execute(
                "INSERT INTO event_subscriptions (id, event_type, target_kind, target, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&s.id, &s.event_type, &kind, &target, &s.created_at],
            )
            .await
            .map_err(query_error)?;
        Ok(())
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let deleted = client
            .execute("DELETE FROM event_subscriptions WHERE id = $1", &[&id])
            .await
            .map_err(query_error)?;
        Ok(deleted == 1)
    }

    async fn list(&self) -> Result<Vec<Subscription>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                "SELECT id, event_type, target_kind, target, created_at FROM event_subscriptions ORDER BY id",
                &[],
            )
            .await
            .map_err(query_error)?;
        rows.iter()
            .map(|row| {
                let kind: String = row.get(2);
                let target: String = row.get(3);
                let target = match kind.as_str() {
                    "plugin" => Target::Plugin(target),
                    _ => Target::Pipeline(Uuid::parse_str(&target).map_err(|e| StoreError::Other(e.to_string()))?),
                };
                Ok(Subscription {
                    id: row.get(0),
                    event_type: row.get(1),
                    target,
                    created_at: row.get(4),
                })
            })
            .collect()
    }
}

/// Every node's copy of the subscriptions, for routing without a query.
pub struct SubscriptionIndex {
    store: Arc<dyn SubscriptionStore>,
    current: ArcSwap<Vec<Subscription>>,
}

impl SubscriptionIndex {
    pub fn new(store: Arc<dyn SubscriptionStore>) -> Self {
        Self {
            store,
            current: ArcSwap::from_pointee(Vec::new()),
        }
    }

    pub fn store(&self) -> &dyn SubscriptionStore {
        &*self.store
    }

    /// Re-reads the store; on failure the previous copy stays.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let subscriptions = self.store.list().await?;
        self.current.store(Arc::new(subscriptions));
        Ok(())
    }

    /// Whether any subscription takes events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.current.load().iter().any(|s| s.matches(event_type))
    }

    /// The subscriptions an event of `event_type` goes to.
    pub fn matching(&self, event_type: &str) -> Vec<Subscription> {
        self.current
            .load()
            .iter()
            .filter(|s| s.matches(event_type))
            .cloned()
            .collect()
    }

    /// Keeps the copy fresh until `shutdown` turns true.
    pub async fn keep_fresh(&self, every: std::time::Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.refresh().await {
                tracing::debug!("cannot refresh subscriptions: {e}");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
