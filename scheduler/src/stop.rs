//! The stop signal a replica's tasks watch: a `watch` flag that turns true
//! once, when they are to end.

use tokio::sync::watch;

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
