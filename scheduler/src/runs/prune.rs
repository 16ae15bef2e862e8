//! Pruning the run history: every minute, finished runs scheduled longer
//! ago than `retention` are deleted, each job's latest kept (it is where
//! catch-up starts).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::RunStore;
use crate::clock::Clock;
use crate::stop::stopped;

/// How often old runs are looked for.
const EVERY: Duration = Duration::from_secs(60);

/// Prunes `runs` every minute until `stop`.
pub async fn keep_pruning(runs: Arc<dyn RunStore>, clock: Clock, retention: Duration, mut stop: watch::Receiver<bool>) {
    let window = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopped(&mut stop) => return,
        }
        let Some(before) = clock.now().checked_sub_signed(window) else {
            continue;
        };
        match runs.prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned old runs"),
            Err(e) => tracing::debug!("cannot prune runs: {e}"),
        }
    }
}
