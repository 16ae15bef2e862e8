//! The catalog: a durable record of every plugin file this cluster has
//! loaded (name, version, ABI, hash, first and last load) or refused (and
//! why), written after each (re)load. Two stores: in memory and PostgreSQL.

mod memory;
mod postgres;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use memory::MemoryCatalog;
pub use postgres::PgCatalog;

use crate::events::{DomainEvent, EventPublisher};
use crate::host::ReloadReport;
use crate::storage::StoreError;

/// A plugin as loaded by some node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginRecord {
    pub name: String,
    pub version: String,
    pub abi_version: String,
    pub file_hash: String,
    pub file: String,
    pub first_loaded_at: DateTime<Utc>,
    pub last_loaded_at: DateTime<Utc>,
    pub load_count: u64,
    pub last_node_id: String,
}

/// A file some node refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    pub file: String,
    pub reason: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub times: u64,
    pub last_node_id: String,
}

/// What one load saw, to be recorded.
#[derive(Debug, Clone)]
pub struct Loaded<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub abi_version: &'a str,
    pub file_hash: &'a str,
    pub file: &'a str,
}

#[async_trait]
pub trait PluginCatalog: Send + Sync {
    async fn record_loaded(&self, loaded: &Loaded<'_>, node_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn record_refused(
        &self,
        file: &str,
        reason: &str,
        node_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    #[expect(
        dead_code,
        reason = "no route reads the catalog back yet; operators read it with SQL"
    )]
    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError>;
    #[expect(
        dead_code,
        reason = "no route reads the catalog back yet; operators read it with SQL"
    )]
    async fn refusals(&self) -> Result<Vec<RefusalRecord>, StoreError>;
}

/// Records a (re)load's outcome and publishes it. A catalog that cannot be
/// written (database away) is logged, never fatal: plugins still serve.
pub async fn record(catalog: &dyn PluginCatalog, events: &dyn EventPublisher, report: &ReloadReport, node_id: &str) {
    let now = crate::clock::now();
    for plugin in &report.loaded {
        let file = plugin.file.display().to_string();
        let loaded = Loaded {
            name: &plugin.name,
            version: &plugin.version,
            abi_version: &plugin.abi_version,
            file_hash: &plugin.sha256,
            file: &file,
        };
        if let Err(e) = catalog.record_loaded(&loaded, node_id, now).await {
            tracing::warn!(plugin = %plugin.name, "cannot record the plugin in the catalog: {e}");
        }
        events.publish(DomainEvent::PluginLoaded {
            name: plugin.name.clone(),
            version: plugin.version.clone(),
            file,
            sha256: plugin.sha256.clone(),
        });
    }
    for refusal in &report.refused {
        let file = refusal.file.display().to_string();
        if let Err(e) = catalog.record_refused(&file, &refusal.reason, node_id, now).await {
            tracing::warn!(%file, "cannot record the refusal in the catalog: {e}");
        }
        events.publish(DomainEvent::PluginRefused {
            file,
            reason: refusal.reason.clone(),
        });
    }
}
