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
//! - [`events`]: domain events and the publisher port;
//! - [`metrics`]: Prometheus metrics;
//! - [`state`]: what handlers share;
//! - [`Error`]: the crate's one error type and its mapping to HTTP.
//!
//! [`Gateway`] is the composition root: it builds everything from a config and
//! a bound listener, and runs until a shutdown future resolves. `main.rs` and
//! the end-to-end tests start the gateway the same way.

pub mod catalog;
pub mod config;
mod error;
pub mod events;
pub mod host;
pub mod http;
pub mod metrics;
pub mod pipelines;
pub mod state;
mod storage;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub use config::FlexCoreConfig;
pub use error::Error;
use tokio::net::TcpListener;

use crate::events::{EventPublisher, InProcessBus};
use crate::host::{HostSettings, PluginHost};
use crate::metrics::Metrics;
use crate::pipelines::Pipelines;
use crate::state::AppState;

/// A gateway built and bound, ready to run.
pub struct Gateway {
    state: Arc<AppState>,
    listener: TcpListener,
}

impl Gateway {
    /// Builds every part from `config` and loads the plugins; `listener` is
    /// already bound (tests bind `127.0.0.1:0`).
    pub async fn build(config: FlexCoreConfig, listener: TcpListener) -> Result<Self, Error> {
        let local_addr = listener.local_addr()?;
        let metrics = Arc::new(Metrics::new());
        let stores = storage::Stores::open(&config).await?;
        let events: Arc<dyn EventPublisher> = Arc::new(InProcessBus::default());
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
        let pipelines = Pipelines::new(
            stores.pipelines,
            stores.executions,
            Arc::clone(&host),
            Arc::clone(&events),
            config.node_id.clone(),
        );
        let state = AppState {
            node_id: config.node_id.clone(),
            auth: http::Auth::new(&config.auth),
            local_addr,
            host,
            pipelines,
            catalog: stores.catalog,
            events,
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
            "plugins loaded"
        );
        Ok(Self {
            state: Arc::new(state),
            listener,
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

    /// Serves until `shutdown` resolves; then stops accepting, finishes the
    /// calls in flight (bounded by `shutdown_grace`) and shuts every plugin down.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let grace = self.state.config.shutdown_grace;
        let service = http::stack::build(Arc::clone(&self.state));
        http::server::serve(self.listener, service, shutdown, grace).await;
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
