//! The plugin host: loads every `*.so` in the plugin folder, keeps the live set
//! in a lock-free registry, invokes plugins, and reloads them without a stop.
//!
//! - [`library`]: opening one file and its ABI handshake (refusals named);
//! - [`plugin`]: one loaded plugin's life (calls in flight, panic restart,
//!   retirement);
//! - [`output`]: reading a response across the boundary;
//! - [`host_table`]: the services a plugin may call back into;
//! - [`invoke`]: where a call runs (inline, or the blocking pool) and its deadline;
//! - [`reload`]: comparing the folder with what is loaded, and swapping.
//!
//! This module and its children are the only gateway code with `unsafe`.

mod host_table;
mod invoke;
mod library;
mod output;
mod plugin;
mod reload;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

pub use invoke::Invocation;
pub use library::Refusal;
pub use output::{Input, Output};
pub use plugin::{CallGuard, Plugin};
pub use reload::ReloadReport;

use crate::Error;
use crate::metrics::Metrics;

/// What the host needs to know from the configuration.
#[derive(Debug, Clone)]
pub struct HostSettings {
    pub plugin_dir: PathBuf,
    /// Where private copies of plugin files are made before opening.
    pub scratch_dir: PathBuf,
    pub plugin_config: HashMap<String, HashMap<String, String>>,
    pub invoke_timeout: Duration,
    pub slow_call_threshold: Duration,
}

/// The live set of plugins, replaced whole on every reload.
#[derive(Default)]
pub struct Registry {
    pub plugins: HashMap<String, Arc<Plugin>>,
    pub refused: Vec<Refusal>,
}

/// Loads, invokes and reloads plugins.
pub struct PluginHost {
    registry: ArcSwap<Registry>,
    reload_lock: tokio::sync::Mutex<()>,
    settings: HostSettings,
    metrics: Arc<Metrics>,
}

impl PluginHost {
    /// A host with nothing loaded yet; call [`reload`](Self::reload) to load.
    pub fn new(settings: HostSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            registry: ArcSwap::from_pointee(Registry::default()),
            reload_lock: Default::default(),
            settings,
            metrics,
        }
    }

    /// The current registry, for listing.
    pub fn snapshot(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    /// Starts a call into the plugin named `name`.
    pub fn acquire(&self, name: &str) -> Result<CallGuard, Error> {
        // A retired plugin has already been swapped out of the registry, so
        // the second look finds its successor (or nothing).
        for _ in 0..3 {
            let registry = self.registry.load();
            let plugin = registry
                .plugins
                .get(name)
                .ok_or_else(|| Error::PluginNotFound(name.to_owned()))?;
            match plugin.enter() {
                Ok(guard) => return Ok(guard),
                Err(plugin::Closed::Retired) => continue,
                Err(plugin::Closed::Unavailable) => {
                    return Err(Error::Unavailable {
                        plugin: name.to_owned(),
                        message: "restarting after a panic, or failed to restart".into(),
                    });
                }
            }
        }
        Err(Error::Unavailable {
            plugin: name.to_owned(),
            message: "being replaced; try again".into(),
        })
    }

    /// Retires every plugin: no new calls; waits up to `grace` for the calls in
    /// flight, then calls each plugin's `shutdown`.
    pub async fn shutdown(&self, grace: Duration) {
        let registry = self.registry.swap(Arc::new(Registry::default()));
        let plugins: Vec<Arc<Plugin>> = registry.plugins.values().cloned().collect();
        let _ = tokio::task::spawn_blocking(move || {
            for plugin in plugins {
                plugin.retire(grace);
            }
        })
        .await;
        self.metrics.plugins_loaded.set(0);
    }
}
