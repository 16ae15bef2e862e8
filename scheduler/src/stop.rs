//! Stopping a replica, in two stages: first *firing* (no new ticks; the lock
//! manager lets go of its jobs while the runs in flight finish), then *all*
//! (the lock connection, the chores, the admin port). Each task is given the
//! stage it ends at, as a `watch` flag that turns true once.

use tokio::sync::watch;

/// The two stages, both open until stopped.
pub(crate) struct Stages {
    firing: watch::Sender<bool>,
    all: watch::Sender<bool>,
}

impl Stages {
    pub(crate) fn new() -> Self {
        Self {
            firing: watch::channel(false).0,
            all: watch::channel(false).0,
        }
    }

    /// Turns true when firing stops.
    pub(crate) fn firing(&self) -> watch::Receiver<bool> {
        self.firing.subscribe()
    }

    /// Turns true when everything stops.
    pub(crate) fn all(&self) -> watch::Receiver<bool> {
        self.all.subscribe()
    }

    pub(crate) fn stop_firing(&self) {
        self.firing.send_replace(true);
    }

    pub(crate) fn stop_all(&self) {
        self.all.send_replace(true);
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
