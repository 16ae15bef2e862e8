//! (Re)loading: compares the plugin folder with what is loaded, opens what is
//! new or changed, and swaps the registry in one step. Unchanged files keep
//! their loaded plugin; replaced or removed plugins are retired in the
//! background (drained, then shut down), never closed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::library::{self, Refusal};
use super::{HostSettings, Plugin, PluginHost, Registry};
use crate::Error;
use crate::metrics::Metrics;

/// What a (re)load did.
#[derive(Debug, Default, Serialize)]
pub struct ReloadReport {
    /// Plugins loaded from new or changed files.
    pub loaded: Vec<LoadedPlugin>,
    /// Plugins whose file did not change.
    pub unchanged: Vec<String>,
    /// Plugins replaced or removed; drained and shut down in the background.
    pub retired: Vec<String>,
    /// Files that were not loaded, with the reason.
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Serialize)]
pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    pub abi_version: String,
    pub sha256: String,
    pub file: PathBuf,
}

/// How long a retired plugin's in-flight calls may run before its shutdown is
/// skipped (they have long been answered with 504 by then).
const RETIRE_GRACE: Duration = Duration::from_secs(300);

impl PluginHost {
    /// Loads new and changed plugin files; retires replaced and removed ones.
    pub async fn reload(&self) -> Result<ReloadReport, Error> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let current = self.registry.load_full();
        let (settings, metrics) = (self.settings.clone(), Arc::clone(&self.metrics));
        let (next, report) = tokio::task::spawn_blocking(move || plan(&current, &settings, &metrics))
            .await
            .map_err(|e| Error::Internal(format!("reload task failed: {e}")))??;
        let previous = self.registry.swap(Arc::new(next));
        self.metrics
            .plugins_loaded
            .set(self.registry.load().plugins.len() as i64);
        self.metrics.plugins_refused.set(report.refused.len() as i64);

        let retired: Vec<Arc<Plugin>> = previous
            .plugins
            .values()
            .filter(|old| !self.registry.load().plugins.values().any(|new| Arc::ptr_eq(old, new)))
            .cloned()
            .collect();
        if !retired.is_empty() {
            tokio::task::spawn_blocking(move || {
                for plugin in retired {
                    if plugin.retire(RETIRE_GRACE) {
                        tracing::info!(plugin = plugin.name(), "retired and shut down");
                    }
                }
            });
        }
        Ok(report)
    }
}

/// Decides the next registry from the folder and the current one.
fn plan(current: &Registry, settings: &HostSettings, metrics: &Metrics) -> Result<(Registry, ReloadReport), Error> {
    let files = plugin_files(&settings.plugin_dir)?;
    let loaded_from: HashMap<&Path, &Arc<Plugin>> = current.plugins.values().map(|p| (p.file.as_path(), p)).collect();
    let mut next: FxHashMap<String, Arc<Plugin>> = FxHashMap::default();
    let mut report = ReloadReport::default();
    for plugin in current.plugins.values().filter(|p| p.linked()) {
        next.insert(plugin.name().to_owned(), Arc::clone(plugin));
    }

    let mut to_open = Vec::new();
    for file in files {
        match library::file_hash(&file) {
            Ok(hash) => match loaded_from.get(file.as_path()) {
                Some(plugin) if plugin.sha256 == hash => {
                    report.unchanged.push(plugin.name().to_owned());
                    next.insert(plugin.name().to_owned(), Arc::clone(plugin));
                }
                _ => to_open.push((file, hash)),
            },
            Err(e) => report.refused.push(Refusal {
                file,
                reason: format!("cannot read: {e}"),
            }),
        }
    }

    for (file, hash) in to_open {
        let opened = match library::open(&file, &hash, &settings.scratch_dir) {
            Ok(opened) => opened,
            Err(refusal) => {
                report.refused.push(refusal);
                continue;
            }
        };
        let name = opened.descriptor.name.clone();
        if let Some(existing) = next.get(&name) {
            let reason = format!(
                "duplicate plugin name '{name}': already provided by {}",
                existing.file.display()
            );
            report.refused.push(Refusal { file, reason });
            continue;
        }
        let config = settings.plugin_config.get(&name).cloned().unwrap_or_default();
        match Plugin::init(opened, config, metrics.for_plugin(&name)) {
            Ok(plugin) => {
                let version = plugin.descriptor.version.clone();
                tracing::info!(plugin = %name, %version, file = %file.display(), "plugin loaded");
                report.loaded.push(LoadedPlugin {
                    name: name.clone(),
                    version,
                    abi_version: format!("{}.{}", plugin.descriptor.abi.0, plugin.descriptor.abi.1),
                    sha256: plugin.sha256.clone(),
                    file,
                });
                next.insert(name, plugin);
            }
            Err(refusal) => report.refused.push(refusal),
        }
    }

    // A changed file that now fails to load leaves its previous version serving.
    for (name, old) in &current.plugins {
        if !next.contains_key(name) && report.refused.iter().any(|r| r.file == old.file) {
            tracing::warn!(plugin = %name, "new version refused; the previous version keeps serving");
            next.insert(name.clone(), Arc::clone(old));
        }
    }
    report.retired = current
        .plugins
        .iter()
        .filter(|(_, old)| !next.values().any(|new| Arc::ptr_eq(old, new)))
        .map(|(name, _)| name.clone())
        .collect();
    for refusal in &report.refused {
        tracing::warn!(file = %refusal.file.display(), reason = %refusal.reason, "plugin refused");
    }
    let refused = report.refused.clone();
    Ok((Registry { plugins: next, refused }, report))
}

/// The `*.so` files in `dir`, sorted by name so that loading is deterministic.
fn plugin_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "so") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}
