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
//! - [`events`]: published events, subscriptions, delivery, domain events;
//! - [`cluster`]: membership (Redis) and leadership (PostgreSQL);
//! - [`metrics`]: Prometheus metrics;
//! - [`clock`]: the wall clock, as record timestamps and Unix milliseconds;
//! - [`state`]: what handlers share;
//! - [`Error`]: the crate's one error type and its mapping to HTTP.
//!
//! [`Gateway`] is the composition root: it builds everything from a config and
//! a bound listener, and runs until a shutdown future resolves. `main.rs` and
//! the end-to-end tests start the gateway the same way.

pub mod catalog;
pub mod clock;
pub mod cluster;
pub mod config;
mod error;
pub mod events;
pub mod host;
pub mod http;
pub mod metrics;
pub mod pipelines;
pub mod state;
pub mod storage;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config::FlexCoreConfig;
pub use error::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::cluster::keys::Keys;
use crate::events::dispatch::Dispatcher;
use crate::events::local::LocalEvents;
use crate::events::retry::RetryPolicy;
use crate::events::stream::{StreamConsumer, StreamEvents};
use crate::events::subscriptions::SubscriptionIndex;
use crate::events::{EventLog, EventPublisher, WantedOnly};
use crate::host::{HostSettings, PluginHost};
use crate::metrics::Metrics;
use crate::pipelines::Pipelines;
use crate::state::AppState;

/// A gateway built and bound, ready to run.
pub struct Gateway {
    state: Arc<AppState>,
    listener: TcpListener,
    /// Turns true when the gateway stops: background tasks end on it.
    stopping: watch::Sender<bool>,
}

/// The event transport, as both of its faces.
struct Transport {
    log: Arc<dyn EventLog>,
    publisher: Arc<dyn EventPublisher>,
    /// Starts consuming once the dispatcher exists.
    start: Box<dyn FnOnce(Arc<Dispatcher>) + Send>,
}

impl Gateway {
    /// Builds every part from `config` and loads the plugins; `listener` is
    /// already bound (tests bind `127.0.0.1:0`).
    pub async fn build(config: FlexCoreConfig, listener: TcpListener) -> Result<Self, Error> {
        let local_addr = listener.local_addr()?;
        let advertise_url = config
            .advertise_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let (stopping, stop) = watch::channel(false);
        let metrics = Arc::new(Metrics::new());
        let stores = storage::stores::Stores::open(&config).await?;
        let host = Arc::new(PluginHost::new(
            HostSettings {
                plugin_dir: config.plugin_dir.clone(),
                scratch_dir: std::env::temp_dir().join("flexcore-plugins"),
                plugin_config: config.plugins.clone(),
                invoke_timeout: config.invoke_timeout,
                slow_call_threshold: config.slow_call_threshold,
            },
            Arc::clone(&metrics),
        ));

        let redis = match &config.redis_url {
            Some(url) => Some(
                flexcore_infra::redis::pool(url.expose(), 16)
                    .map_err(|e| Error::Internal(format!("invalid redis_url: {e}")))?,
            ),
            None => None,
        };
        let cluster = match (&redis, &config.database_url) {
            (Some(pool), Some(database_url)) => Some(Cluster::start(
                cluster::Settings {
                    node_id: config.node_id.clone(),
                    address: advertise_url.clone(),
                    database_url: database_url.expose().to_owned(),
                    redis_prefix: config.redis_prefix.clone(),
                    heartbeat_interval: config.cluster.heartbeat_interval,
                    member_ttl: config.cluster.member_ttl,
                    leader_check_interval: config.cluster.leader_check_interval,
                },
                pool.clone(),
                Arc::clone(&host),
                stop.clone(),
            )),
            _ => None,
        };
        let subscriptions = Arc::new(SubscriptionIndex::new(stores.subscriptions));
        if let Err(e) = subscriptions.refresh().await {
            tracing::warn!("cannot read subscriptions yet: {e}");
        }
        let fresh = Arc::clone(&subscriptions);
        let refresh_stop = stop.clone();
        tokio::spawn(async move { fresh.keep_fresh(Duration::from_secs(1), refresh_stop).await });
        let transport = transport(&config, redis, cluster.as_ref(), stop.clone());
        // Domain events nobody subscribed to are dropped before they cost anything.
        let domain_events: Arc<dyn EventPublisher> = Arc::new(WantedOnly::new(
            Arc::clone(&transport.publisher),
            Arc::clone(&subscriptions),
        ));
        let pipelines = Arc::new(Pipelines::new(
            stores.pipelines,
            stores.executions,
            Arc::clone(&host),
            Arc::clone(&domain_events),
            config.node_id.clone(),
        ));
        (transport.start)(Arc::new(Dispatcher::new(
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
            event_log: transport.log,
            subscriptions,
            cluster,
            catalog: stores.catalog,
            events: domain_events,
            metrics,
            started: Instant::now(),
            storage: stores.kind,
            config,
        };
        let report = state.reload_plugins().await?;
        tracing::info!(
            loaded = report.loaded.len(),
            refused = report.refused.len(),
            dir = %state.config.plugin_dir.display(),
            storage = state.storage,
            role = ?state.role(),
            "plugins loaded"
        );
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
    pub fn service(&self) -> http::GatewayService {
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

/// Redis streams in a cluster, the in-process queue otherwise.
fn transport(
    config: &FlexCoreConfig,
    redis: Option<flexcore_infra::redis::RedisPool>,
    cluster: Option<&Arc<Cluster>>,
    stop: watch::Receiver<bool>,
) -> Transport {
    let policy = RetryPolicy {
        max_attempts: config.events.max_attempts,
        backoff: config.events.retry_backoff,
    };
    match (redis, cluster) {
        (Some(pool), Some(cluster)) => {
            let keys = Keys::new(&config.redis_prefix);
            let events = StreamEvents::new(pool.clone(), keys.clone(), &config.node_id);
            let settings = events::stream::Settings {
                redis_url: config
                    .redis_url
                    .as_ref()
                    .map(|u| u.expose().to_owned())
                    .unwrap_or_default(),
                keys,
                node_id: config.node_id.clone(),
                policy,
                reclaim_idle: config.events.reclaim_idle,
                batch: config.events.batch,
            };
            let consumer = StreamConsumer::new(settings, pool, cluster.leader_flag(), stop);
            Transport {
                log: events.clone(),
                publisher: events,
                start: Box::new(move |dispatcher| consumer.start(dispatcher)),
            }
        }
        _ => {
            let (events, worker) = LocalEvents::new(&config.node_id, policy);
            Transport {
                log: events.clone(),
                publisher: events,
                start: Box::new(move |dispatcher| worker.start(dispatcher)),
            }
        }
    }
}
