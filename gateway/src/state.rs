//! The state every handler shares, and the read-only views it serves
//! (`/health`, `/info`, `/plugins`).

use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use serde::Serialize;

use crate::Error;
use crate::catalog::{self, PluginCatalog};
use crate::cluster::{Cluster, ClusterView, NodeView, Role};
use crate::config::FlexCoreConfig;
use crate::events::EventLog;
use crate::events::EventPublisher;
use crate::events::subscriptions::SubscriptionIndex;
use crate::host::{PluginHost, Refusal, ReloadReport};
use crate::http::Auth;
use crate::metrics::Metrics;
use crate::pipelines::Pipelines;

/// Built once by the composition root ([`Gateway::build`](crate::Gateway::build)).
pub struct AppState {
    pub node_id: String,
    pub config: FlexCoreConfig,
    /// The address actually bound (the config may say port 0).
    pub local_addr: std::net::SocketAddr,
    /// Where other nodes and tools reach this node.
    pub advertise_url: String,
    pub host: Arc<PluginHost>,
    pub pipelines: Arc<Pipelines>,
    /// Where `POST /events` appends, and dead letters are read.
    pub event_log: Arc<dyn EventLog>,
    pub subscriptions: Arc<SubscriptionIndex>,
    /// This node's part in a cluster; `None` when standalone.
    pub cluster: Option<Arc<Cluster>>,
    pub catalog: Arc<dyn PluginCatalog>,
    pub events: Arc<dyn EventPublisher>,
    pub metrics: Arc<Metrics>,
    pub auth: Auth,
    pub started: Instant,
    /// `memory` or `postgres`.
    pub storage: &'static str,
}

#[derive(Serialize)]
pub struct Health<'a> {
    status: &'static str,
    node_id: &'a str,
    plugins_loaded: usize,
}

#[derive(Serialize)]
pub struct Info<'a> {
    node_id: &'a str,
    version: &'static str,
    abi_version: String,
    role: Role,
    uptime_seconds: u64,
    plugins_loaded: usize,
    plugins_refused: usize,
    listen: String,
    storage: &'static str,
}

#[derive(Serialize)]
pub struct PluginList {
    plugins: Vec<PluginView>,
    refused: Vec<Refusal>,
}

#[derive(Serialize)]
pub struct PluginView {
    name: String,
    version: String,
    description: String,
    abi_version: String,
    file: String,
    sha256: String,
    loaded_at_unix: u64,
    thread_safe: bool,
    runs_on_blocking_pool: bool,
    stats: PluginStats,
}

#[derive(Serialize)]
pub struct PluginStats {
    invocations: u64,
    errors: u64,
    mean_duration_ms: f64,
}

impl AppState {
    pub fn health(&self) -> Health<'_> {
        Health {
            status: "ok",
            node_id: &self.node_id,
            plugins_loaded: self.host.snapshot().plugins.len(),
        }
    }

    pub fn info(&self) -> Info<'_> {
        let registry = self.host.snapshot();
        Info {
            node_id: &self.node_id,
            version: env!("CARGO_PKG_VERSION"),
            abi_version: format!("{}.{}", flexcore_abi::ABI_MAJOR, flexcore_abi::ABI_MINOR),
            role: self.role(),
            uptime_seconds: self.started.elapsed().as_secs(),
            plugins_loaded: registry.plugins.len(),
            plugins_refused: registry.refused.len(),
            listen: self.local_addr.to_string(),
            storage: self.storage,
        }
    }

    pub fn role(&self) -> Role {
        self.cluster.as_ref().map_or(Role::Standalone, |c| c.role())
    }

    /// `GET /cluster`: the live nodes and the leader; a standalone node
    /// reports itself alone.
    pub async fn cluster_view(&self) -> Result<ClusterView, Error> {
        if let Some(cluster) = &self.cluster {
            return cluster.view().await;
        }
        let mut plugins: Vec<String> = self.host.snapshot().plugins.keys().cloned().collect();
        plugins.sort();
        Ok(ClusterView {
            mode: "standalone",
            node_id: self.node_id.clone(),
            leader: Some(self.node_id.clone()),
            member_ttl_ms: 0,
            nodes: vec![NodeView {
                node_id: self.node_id.clone(),
                address: self.advertise_url.clone(),
                role: "standalone".into(),
                last_heartbeat_unix_ms: crate::clock::unix_ms(),
                load: self.host.in_flight() as u64,
                version: env!("CARGO_PKG_VERSION").into(),
                plugins,
            }],
        })
    }

    /// Reloads the plugin folder, records what was loaded and refused in the
    /// catalog, and publishes it as domain events.
    pub async fn reload_plugins(&self) -> Result<ReloadReport, Error> {
        let report = self.host.reload().await?;
        catalog::record(&*self.catalog, &*self.events, &report, &self.node_id).await;
        Ok(report)
    }

    pub fn plugins(&self) -> PluginList {
        let registry = self.host.snapshot();
        let mut plugins: Vec<PluginView> = registry.plugins.values().map(|p| PluginView::of(p)).collect();
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        PluginList {
            plugins,
            refused: registry.refused.clone(),
        }
    }
}

impl PluginView {
    fn of(plugin: &crate::host::Plugin) -> Self {
        let summary = plugin.summary();
        let duration = &plugin.metrics().duration;
        let count = duration.get_sample_count();
        Self {
            name: summary.name.to_owned(),
            version: summary.version.to_owned(),
            description: summary.description.to_owned(),
            abi_version: format!("{}.{}", summary.abi.0, summary.abi.1),
            file: summary.file.display().to_string(),
            sha256: summary.sha256.to_owned(),
            loaded_at_unix: summary.loaded_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            thread_safe: summary.thread_safe,
            runs_on_blocking_pool: summary.offloaded,
            stats: PluginStats {
                invocations: plugin.metrics().invocations.get(),
                errors: plugin.metrics().errors_total(),
                mean_duration_ms: if count == 0 {
                    0.0
                } else {
                    duration.get_sample_sum() * 1000.0 / count as f64
                },
            },
        }
    }
}
