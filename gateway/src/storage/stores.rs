//! Chooses the stores: PostgreSQL when `database_url` is set (migrations run
//! first), otherwise memory. The one place that knows both exist.

use std::sync::Arc;

use flexcore_infra::postgres;

use crate::Error;
use crate::catalog::{MemoryCatalog, PgCatalog, PluginCatalog};
use crate::config::FlexCoreConfig;
use crate::events::subscriptions::{MemorySubscriptions, PgSubscriptions, SubscriptionStore};
use crate::pipelines::store::memory::{MemoryExecutions, MemoryPipelines};
use crate::pipelines::store::postgres::{PgExecutions, PgPipelines};
use crate::pipelines::store::{ExecutionStore, PipelineStore};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The gateway's stores, behind their ports.
pub(crate) struct Stores {
    pub pipelines: Arc<dyn PipelineStore>,
    pub executions: Arc<dyn ExecutionStore>,
    pub catalog: Arc<dyn PluginCatalog>,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    /// Where the state lives, for `/info`.
    pub kind: &'static str,
}

impl Stores {
    pub(crate) async fn open(config: &FlexCoreConfig) -> Result<Self, Error> {
        let Some(url) = &config.database_url else {
            return Ok(Self {
                pipelines: Arc::new(MemoryPipelines::default()),
                executions: Arc::new(MemoryExecutions::default()),
                catalog: Arc::new(MemoryCatalog::default()),
                subscriptions: Arc::new(MemorySubscriptions::default()),
                kind: "memory",
            });
        };
        let url = url.expose();
        postgres::migrate(
            url,
            embedded::migrations::runner(),
            "flexcore_gateway_migrations",
            "flexcore:gateway:migrations",
        )
        .await
        .map_err(|e| Error::DatabaseUnavailable(e.to_string()))?;
        let pool =
            postgres::pool(url, config.database_pool_size).map_err(|e| Error::DatabaseUnavailable(e.to_string()))?;
        Ok(Self {
            pipelines: Arc::new(PgPipelines::new(pool.clone())),
            executions: Arc::new(PgExecutions::new(pool.clone())),
            catalog: Arc::new(PgCatalog::new(pool.clone())),
            subscriptions: Arc::new(PgSubscriptions::new(pool)),
            kind: "postgres",
        })
    }
}
