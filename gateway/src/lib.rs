//! The FlexCore gateway: HTTP in front of in-process plugins that speak the
//! C ABI of `flexcore.h`.
//!
//! Layout:
//! - [`config`]: [`FlexCoreConfig`], loaded from file, environment and flags;
//! - [`host`]: the plugin host (loading, handshake, invocation, reload); the
//!   only module with `unsafe` code;
//! - [`http`]: the accept loop, the tower stack, routes and handlers;
//! - [`pipelines`]: chains of calls, their runs, their stores;
//! - [`catalog`]: the durable record of plugins loaded and refused;
//! - [`storage`]: what every store shares: [`storage::StoreError`], the
//!   PostgreSQL error mapping, memory or PostgreSQL chosen at start-up;
//! - [`events`]: published events, subscriptions, the event transport (Redis
//!   stream or in-process queue), delivery and its retries, domain events;
//! - [`cluster`]: membership (Redis) and leadership (PostgreSQL);
//! - [`metrics`]: Prometheus metrics;
//! - [`clock`]: the wall clock, as record timestamps and Unix milliseconds;
//! - [`state`]: what handlers share;
//! - [`Error`]: the crate's one error type and its mapping to HTTP.
//!
//! Benchmarks and tests build from the public modules (`config`, `host`,
//! `pipelines`, `events`, `storage`, `metrics`, `clock`); the others are
//! `pub(crate)`.
//!
//! [`Gateway`] is the composition root: it builds everything from a config and
//! a bound listener, and runs until a shutdown future resolves. `main.rs` and
//! the end-to-end tests start the gateway the same way. [`Gateway::build`]
//! reads as its steps, each a small function below it: stores, plugin host,
//! Redis and the cluster, subscriptions, the event transport, pipelines,
//! event delivery, then the first load of the plugin folder.

pub(crate) mod catalog;
pub mod clock;
pub(crate) mod cluster;
pub mod config;
mod error;
pub mod events;
// The only gateway module with `unsafe`: it calls into plugins through the C ABI.
#[allow(unsafe_code)]
pub mod host;
pub(crate) mod http;
pub mod metrics;
pub mod pipelines;
pub(crate) mod state;
pub mod storage;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config::FlexCoreConfig;
pub use error::Error;
use flexcore_infra::redis::RedisPool;
pub use http::GatewayService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::events::dispatch::Dispatcher;
use crate::events::subscriptions::{SubscriptionIndex, SubscriptionStore};
use crate::events::transport::Transport;
use crate::events::{EventPublisher, WantedOnly};
use crate::host::{HostSettings, PluginHost};
use crate::metrics::Metrics;
use crate::pipelines::Pipelines;
use crate::state::AppState;
use crate::storage::stores::Stores;

/// A gateway built and bound, ready to run.
pub struct Gateway {
    state: Arc<AppState>,
    listener: TcpListener,
    /// Turns true when the gateway stops: background tasks end on it.
    stopping: watch::Sender<bool>,
}

impl Gateway {
    /// Builds every part from `config` and loads the plugins; `listener` is
    /// already bound (tests bind `127.0.0.1:0`).
    pub async fn build(config: FlexCoreConfig, listener: TcpListener) -> Result<Self, Error> {
        let local_addr = listener.local_addr()?;
        let advertise_url = advertise_url(&config, local_addr);
        let (stopping, stop) = watch::channel(false);
        let metrics = Arc::new(Metrics::new());
        let stores = Stores::open(&config).await?;
        let host = plugin_host(&config, &metrics);
        let redis = redis_pool(&config)?;
        let cluster = join_cluster(&config, &advertise_url, redis.as_ref(), &host, &stop);
        let subscriptions = subscription_index(stores.subscriptions, &stop).await;
        let transport = Transport::open(&config, redis, cluster.as_ref(), stop);
        // Domain events nobody subscribed to are dropped before they cost anything.
        let domain_events: Arc<dyn EventPublisher> =
            Arc::new(WantedOnly::new(transport.publisher(), Arc::clone(&subscriptions)));
        let pipelines = Arc::new(Pipelines::new(
            stores.pipelines,
            stores.executions,
            Arc::clone(&host),
            Arc::clone(&domain_events),
            config.node_id.clone(),
        ));
        let event_log = transport.log();
        transport.start(Arc::new(Dispatcher::new(
            Arc::clone(&host),
            Arc::clone(&pipelines),
            Arc::clone(&subscriptions),
        )));
        let state = AppState {
            node_id: config.node_id.clone(),
            auth: http::Auth::new(&config.auth),
            local_addr,
            advertise_url,
            host,
            pipelines,
            event_log,
            subscriptions,
            cluster,
            catalog: stores.catalog,
            events: domain_events,
            metrics,
            started: Instant::now(),
            storage: stores.kind,
            config,
        };
        load_plugins(&state).await?;
        Ok(Self {
            state: Arc::new(state),
            listener,
            stopping,
        })
    }

    /// The address the gateway listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listener.local_addr()?)
    }

    /// The whole HTTP stack as a tower service, to drive without a socket
    /// (benchmarks); `run` serves the same stack.
    pub fn service(&self) -> GatewayService {
        http::stack::build(Arc::clone(&self.state))
    }

    /// Adds a plugin linked into this program, through the same handshake
    /// and `init` as a file ([`PluginHost::load_linked`]): lets benchmarks
    /// drive [`service`](Self::service) with no plugin file on disk.
    pub async fn load_linked(&self, entry: flexcore_abi::ffi::EntryFn, origin: &str) -> Result<(), host::Refusal> {
        self.state.host.load_linked(entry, origin).await
    }

    /// Serves until `shutdown` resolves; then stops accepting, finishes the
    /// calls in flight (bounded by `shutdown_grace`) and shuts every plugin down.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let grace = self.state.config.shutdown_grace;
        let service = http::stack::build(Arc::clone(&self.state));
        http::server::serve(self.listener, service, shutdown, grace).await;
        // Leave the cluster (membership, leadership) before the plugins go.
        let _ = self.stopping.send(true);
        if self.state.cluster.is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.state.host.shutdown(grace).await;
        tracing::info!("gateway stopped");
        Ok(())
    }
}

/// Builds and runs a gateway: the one-call form of [`Gateway`].
pub async fn run(
    config: FlexCoreConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    Gateway::build(config, listener).await?.run(shutdown).await
}

/// Where other nodes and tools reach this node: `advertise_url`, or the
/// address actually bound.
fn advertise_url(config: &FlexCoreConfig, local_addr: SocketAddr) -> String {
    config
        .advertise_url
        .clone()
        .unwrap_or_else(|| format!("http://{local_addr}"))
}

/// The plugin host, with no plugin loaded yet.
fn plugin_host(config: &FlexCoreConfig, metrics: &Arc<Metrics>) -> Arc<PluginHost> {
    Arc::new(PluginHost::new(
        HostSettings {
            plugin_dir: config.plugin_dir.clone(),
            scratch_dir: std::env::temp_dir().join("flexcore-plugins"),
            plugin_config: config.plugins.clone(),
            invoke_timeout: config.invoke_timeout,
            slow_call_threshold: config.slow_call_threshold,
        },
        Arc::clone(metrics),
    ))
}

/// The Redis pool, when the config names a Redis (a cluster).
fn redis_pool(config: &FlexCoreConfig) -> Result<Option<RedisPool>, Error> {
    let Some(url) = &config.redis_url else {
        return Ok(None);
    };
    flexcore_infra::redis::pool(url.expose(), 16)
        .map(Some)
        .map_err(|e| Error::Internal(format!("invalid redis_url: {e}")))
}

/// Starts membership and leadership when the node has both Redis and
/// PostgreSQL (a cluster); a standalone node has no [`Cluster`].
fn join_cluster(
    config: &FlexCoreConfig,
    advertise_url: &str,
    redis: Option<&RedisPool>,
    host: &Arc<PluginHost>,
    stop: &watch::Receiver<bool>,
) -> Option<Arc<Cluster>> {
    let (Some(pool), Some(database_url)) = (redis, &config.database_url) else {
        return None;
    };
    let settings = cluster::Settings {
        node_id: config.node_id.clone(),
        address: advertise_url.to_owned(),
        database_url: database_url.expose().to_owned(),
        redis_prefix: config.redis_prefix.clone(),
        heartbeat_interval: config.cluster.heartbeat_interval,
        member_ttl: config.cluster.member_ttl,
        leader_check_interval: config.cluster.leader_check_interval,
    };
    Some(Cluster::start(settings, pool.clone(), Arc::clone(host), stop.clone()))
}

/// This node's copy of the subscriptions: read now (a database not there
/// yet only delays it), then refreshed every second until `stop`.
async fn subscription_index(store: Arc<dyn SubscriptionStore>, stop: &watch::Receiver<bool>) -> Arc<SubscriptionIndex> {
    let subscriptions = Arc::new(SubscriptionIndex::new(store));
    if let Err(e) = subscriptions.refresh().await {
        tracing::warn!("cannot read subscriptions yet: {e}");
    }
    let fresh = Arc::clone(&subscriptions);
    let stop = stop.clone();
    tokio::spawn(async move { fresh.keep_fresh(Duration::from_secs(1), stop).await });
    subscriptions
}

/// Loads the plugin folder for the first time, and says what came of it.
async fn load_plugins(state: &AppState) -> Result<(), Error> {
    let report = state.reload_plugins().await?;
    tracing::info!(
        loaded = report.loaded.len(),
        refused = report.refused.len(),
        dir = %state.config.plugin_dir.display(),
        storage = state.storage,
        role = ?state.role(),
        "plugins loaded"
    );
    Ok(())
}
