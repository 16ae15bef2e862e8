//! The PostgreSQL catalog: upserts into `plugin_records` and `plugin_refusals`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flexcore_infra::postgres::deadpool_postgres::Pool;

use super::{Loaded, PluginCatalog, PluginRecord, RefusalRecord};
use crate::storage::StoreError;
use crate::storage::postgres::{pool_error, query_error};

pub struct PgCatalog {
    pool: Pool,
}

impl PgCatalog {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl PluginCatalog for PgCatalog {
    async fn record_loaded(&self, l: &Loaded<'_>, node_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        client
            .execute(
                "INSERT INTO plugin_records
                   (name, version, abi_version, file_hash, file, first_loaded_at, last_loaded_at, last_node_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
                 ON CONFLICT (name, file_hash) DO UPDATE
                   SET last_loaded_at = EXCLUDED.last_loaded_at, file = EXCLUDED.file,
                       load_count = plugin_records.load_count + 1, last_node_id = EXCLUDED.last_node_id",
                &[
                    &l.name,
                    &l.version,
                    &l.abi_version,
                    &l.file_hash,
                    &l.file,
                    &at,
                    &node_id,
                ],
            )
            .await
            .map_err(query_error)?;
        Ok(())
    }

    async fn record_refused(
        &self,
        file: &str,
        reason: &str,
        node_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        client
            .execute(
                "INSERT INTO plugin_refusals (file, reason, first_seen_at, last_seen_at, last_node_id)
                 VALUES ($1, $2, $3, $3, $4)
                 ON CONFLICT (file, reason) DO UPDATE
                   SET last_seen_at = EXCLUDED.last_seen_at, times = plugin_refusals.times + 1,
                       last_node_id = EXCLUDED.last_node_id",
                &[&file, &reason, &at, &node_id],
            )
            .await
            .map_err(query_error)?;
        Ok(())
    }

    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                "SELECT name, version, abi_version, file_hash, file, first_loaded_at, last_loaded_at,
                        load_count, last_node_id
                 FROM plugin_records ORDER BY name, first_loaded_at",
                &[],
            )
            .await
            .map_err(query_error)?;
        Ok(rows
            .iter()
            .map(|r| PluginRecord {
                name: r.get(0),
                version: r.get(1),
                abi_version: r.get(2),
                file_hash: r.get(3),
                file: r.get(4),
                first_loaded_at: r.get(5),
                last_loaded_at: r.get(6),
                load_count: r.get::<_, i64>(7) as u64,
                last_node_id: r.get(8),
            })
            .collect())
    }

    async fn refusals(&self) -> Result<Vec<RefusalRecord>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                "SELECT file, reason, first_seen_at, last_seen_at, times, last_node_id
                 FROM plugin_refusals ORDER BY last_seen_at DESC",
                &[],
            )
            .await
            .map_err(query_error)?;
        Ok(rows
            .iter()
            .map(|r| RefusalRecord {
                file: r.get(0),
                reason: r.get(1),
                first_seen_at: r.get(2),
                last_seen_at: r.get(3),
                times: r.get::<_, i64>(4) as u64,
                last_node_id: r.get(5),
            })
            .collect())
    }
}
