//! The in-memory catalog.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Loaded, PluginCatalog, PluginRecord, RefusalRecord};
use crate::storage::StoreError;

#[derive(Default)]
pub struct MemoryCatalog {
    plugins: Mutex<BTreeMap<(String, String), PluginRecord>>,
    refusals: Mutex<BTreeMap<(String, String), RefusalRecord>>,
}

#[async_trait]
impl PluginCatalog for MemoryCatalog {
    async fn record_loaded(&self, l: &Loaded<'_>, node_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut plugins = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        plugins
            .entry((l.name.to_owned(), l.file_hash.to_owned()))
            .and_modify(|r| {
                r.last_loaded_at = at;
                r.load_count += 1;
                r.last_node_id = node_id.to_owned();
            })
            .or_insert_with(|| PluginRecord {
                name: l.name.to_owned(),
                version: l.version.to_owned(),
                abi_version: l.abi_version.to_owned(),
                file_hash: l.file_hash.to_owned(),
                file: l.file.to_owned(),
                first_loaded_at: at,
                last_loaded_at: at,
                load_count: 1,
                last_node_id: node_id.to_owned(),
            });
        Ok(())
    }

    async fn record_refused(
        &self,
        file: &str,
        reason: &str,
        node_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        refusals
            .entry((file.to_owned(), reason.to_owned()))
            .and_modify(|r| {
                r.last_seen_at = at;
                r.times += 1;
                r.last_node_id = node_id.to_owned();
            })
            .or_insert_with(|| RefusalRecord {
                file: file.to_owned(),
                reason: reason.to_owned(),
                first_seen_at: at,
                last_seen_at: at,
                times: 1,
                last_node_id: node_id.to_owned(),
            });
        Ok(())
    }

    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        Ok(self
            .plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect())
    }

    async fn refusals(&self) -> Result<Vec<RefusalRecord>, StoreError> {
        Ok(self
            .refusals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect())
    }
}
