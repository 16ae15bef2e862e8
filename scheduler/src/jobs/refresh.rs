//! Keeping a replica's view of the jobs fresh: the stored jobs are read at
//! start-up and then every `jobs_refresh`, and the validated [`JobSet`] is
//! published whenever it changed, so that a job added, paused or resumed
//! anywhere (another replica, the CLI, a row in `scheduler_jobs`) reaches
//! the lock manager and the tickers of every replica.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{JobSet, JobStore, store};
use crate::stop::stopped;

/// The jobs of `store`, read now, and the task that re-reads them every
/// `every` until `stop` (to be spawned).
pub async fn watch_jobs(
    store: Arc<dyn JobStore>,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> (watch::Receiver<Arc<JobSet>>, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = watch::channel(Arc::new(JobSet::new()));
    refresh_jobs(store.as_ref(), &tx).await;
    (rx, keep_jobs_fresh(store, tx, every, stop))
}

async fn refresh_jobs(store: &dyn JobStore, tx: &watch::Sender<Arc<JobSet>>) {
    match store.list().await {
        Ok(records) => {
            let set: JobSet = store::validated(&records)
                .into_iter()
                .map(|s| (s.job.name.clone(), s))
                .collect();
            tx.send_if_modified(|current| {
                if **current == set {
                    return false;
                }
                *current = Arc::new(set);
                true
            });
        }
        Err(e) => tracing::debug!("cannot read the jobs: {e}"),
    }
}

async fn keep_jobs_fresh(
    store: Arc<dyn JobStore>,
    tx: watch::Sender<Arc<JobSet>>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => refresh_jobs(store.as_ref(), &tx).await,
            _ = stopped(&mut stop) => return,
        }
    }
}
