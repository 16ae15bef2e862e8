//! The plugin host: loads every `*.so` in the plugin folder, keeps the live set
//! in a lock-free registry, invokes plugins, and reloads them without a stop.
//!
//! - [`library`]: opening one file and its ABI handshake (refusals named);
//! - [`plugin`]: one loaded plugin's life (calls in flight, panic restart,
//!   retirement);
//! - [`call`]: the mechanics of one call (request, invoke, free_response);
//! - [`output`]: reading a response across the boundary;
//! - [`host_table`]: the services a plugin may call back into;
//! - [`invoke`]: where a call runs (inline, or the blocking pool) and its deadline;
//! - [`reload`]: comparing the folder with what is loaded, and swapping.
//!
//! This module and its children are the only gateway code with `unsafe`.

mod call;
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
use rustc_hash::FxHashMap;

pub use call::CallGuard;
pub use invoke::{Invocation, Timing};
pub use library::Refusal;
pub use output::{Input, Output};
pub use plugin::Plugin;
pub use reload::ReloadReport;

use crate::Error;
use crate::metrics::Metrics;

fn restarting(name: &str) -> Error {
    Error::Unavailable {
        plugin: name.to_owned(),
        message: "restarting after a panic, or failed to restart".into(),
    }
}

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
    pub plugins: FxHashMap<String, Arc<Plugin>>,
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

    /// Calls running now, over every loaded plugin. Read on demand (for
    /// `/metrics`) so that the call path counts only once, per plugin.
    pub fn in_flight(&self) -> usize {
        self.registry.load().plugins.values().map(|p| p.in_flight()).sum()
    }

    /// Whether a plugin named `name` is loaded now.
    pub fn is_loaded(&self, name: &str) -> bool {
        self.registry.load().plugins.contains_key(name)
    }

    /// Starts a call into the plugin named `name`, holding its own reference.
    pub fn acquire(&self, name: &str) -> Result<CallGuard<'static>, Error> {
        // A retired plugin has already been swapped out of the registry, so
        // the second look finds its successor (or nothing).
        for _ in 0..3 {
            let registry = self.registry.load();
            let plugin = registry
                .plugins
                .get(name)
                .ok_or_else(|| Error::PluginNotFound(name.to_owned()))?;
            match CallGuard::enter(plugin) {
                Ok(guard) => return Ok(guard.into_owned()),
                Err(plugin::Closed::Retired) => continue,
                Err(plugin::Closed::Unavailable) => return Err(restarting(name)),
            }
        }
        Err(Error::Unavailable {
            plugin: name.to_owned(),
            message: "being replaced; try again".into(),
        })
    }

    /// Adds a plugin linked into this program, through the same handshake and
    /// `init` as a file (for embedding, and for benchmarks without `dlopen`).
    pub async fn load_linked(&self, entry: flexcore_abi::ffi::EntryFn, origin: &str) -> Result<(), Refusal> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let opened = library::linked(entry, origin)?;
        let name = opened.descriptor.name.clone();
        let current = self.registry.load_full();
        if current.plugins.contains_key(&name) {
            return Err(Refusal {
                file: origin.into(),
                reason: format!("duplicate plugin name '{name}'"),
            });
        }
        let config = self.settings.plugin_config.get(&name).cloned().unwrap_or_default();
        let plugin = Plugin::init(opened, config, self.metrics.for_plugin(&name))?;
        let mut plugins = current.plugins.clone();
        plugins.insert(name, plugin);
        self.registry.store(Arc::new(Registry {
            plugins,
            refused: current.refused.clone(),
        }));
        self.metrics
            .plugins_loaded
            .set(self.registry.load().plugins.len() as i64);
        Ok(())
    }

    /// Calls a plugin on this thread, as the inline path of
    /// [`invoke`](Self::invoke) does, without deadline or metrics: for
    /// benchmarks and embedding.
    pub fn call_here(&self, name: &str, input: &Input<'_>) -> Result<Output, Error> {
        self.with_call(name, |guard| guard.call(input))?
            .map_err(|e| Error::PluginFailed {
                plugin: name.to_owned(),
                message: e.message,
            })
    }

    /// Runs `f` with a call started into the plugin `name`, borrowing the
    /// registry's reference to it: the fast path, with no reference counting.
    pub(super) fn with_call<R>(&self, name: &str, f: impl FnOnce(CallGuard<'_>) -> R) -> Result<R, Error> {
        let registry = self.registry.load();
        let plugin = registry
            .plugins
            .get(name)
            .ok_or_else(|| Error::PluginNotFound(name.to_owned()))?;
        match CallGuard::enter(plugin) {
            Ok(guard) => Ok(f(guard)),
            Err(plugin::Closed::Retired) => Ok(f(self.acquire(name)?)),
            Err(plugin::Closed::Unavailable) => Err(restarting(name)),
        }
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
