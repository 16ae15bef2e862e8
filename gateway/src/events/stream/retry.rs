//! The stream's side of the retry loop ([`crate::events::retry`]): progress
//! kept in a Redis hash, the entry re-claimed through the backoff, dead
//! letters appended to their own stream, and the entry acknowledged at the
//! end.

use std::time::Duration;

use async_trait::async_trait;
use flexcore_infra::redis::redis;

use super::consume::Consumer;
use crate::cluster::keys::CONSUMER_GROUP;
use crate::events::model::{DeadLetter, Event};
use crate::events::retry::{Progress, Retrying};

/// Entries the dead-letter stream keeps (approximately).
const DEAD_MAX_LEN: u64 = 100_000;

#[async_trait]
impl Retrying for Consumer {
    /// Whoever finishes the entry (the leader, if this node dies) reads it.
    async fn save(&self, event: &Event, progress: &Progress) {
        let Ok(json) = serde_json::to_string(progress) else {
            return;
        };
        if let Ok(mut conn) = self.pool.get().await {
            let _ = redis::cmd("HSET")
                .arg(self.settings.keys.progress())
                .arg(&event.id)
                .arg(json)
                .query_async::<u64>(&mut *conn)
                .await;
        }
    }

    /// Sleeps in slices shorter than `reclaim_idle`, re-claiming the entry
    /// each time, so that the leader does not take it over meanwhile.
    async fn wait(&self, event: &Event, delay: Duration) {
        let mut left = delay;
        while !left.is_zero() {
            self.keep(&event.id).await;
            let slice = left.min(self.settings.reclaim_idle / 2);
            tokio::time::sleep(slice).await;
            left -= slice;
        }
        self.keep(&event.id).await;
    }

    async fn bury(&self, letters: Vec<DeadLetter>) {
        let mut conn = match self.pool.get().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::error!("cannot write {} dead letters: {e}", letters.len());
                return;
            }
        };
        for letter in letters {
            let Ok(json) = serde_json::to_string(&letter) else {
                continue;
            };
            let added = redis::cmd("XADD")
                .arg(self.settings.keys.dead_letters())
                .arg("MAXLEN")
                .arg("~")
                .arg(DEAD_MAX_LEN)
                .arg("*")
                .arg("letter")
                .arg(json)
                .query_async::<String>(&mut *conn)
                .await;
            if let Err(e) = added {
                tracing::error!(event = %letter.event.id, "cannot write the dead letter: {e}");
            }
        }
    }

    async fn finish(&self, event: &Event) {
        self.release(&event.id).await;
    }
}

impl Consumer {
    /// Acknowledges an entry that failed before, and forgets its progress.
    pub(super) async fn release(&self, id: &str) {
        self.ack(&[id.to_owned()]).await;
        if let Ok(mut conn) = self.pool.get().await {
            let _ = redis::cmd("HDEL")
                .arg(self.settings.keys.progress())
                .arg(id)
                .query_async::<u64>(&mut *conn)
                .await;
        }
    }

    /// The progress a failed entry made so far (none if it never failed).
    pub(super) async fn progress(&self, id: &str) -> Progress {
        let Ok(mut conn) = self.pool.get().await else {
            return Progress::default();
        };
        let json: Option<String> = redis::cmd("HGET")
            .arg(self.settings.keys.progress())
            .arg(id)
            .query_async(&mut *conn)
            .await
            .ok()
            .flatten();
        json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
    }

    /// Re-claims an entry for this consumer, which resets its idle time.
    async fn keep(&self, id: &str) {
        if let Ok(mut conn) = self.pool.get().await {
            let _ = redis::cmd("XCLAIM")
                .arg(self.settings.keys.events())
                .arg(CONSUMER_GROUP)
                .arg(&self.settings.node_id)
                .arg(0)
                .arg(id)
                .arg("JUSTID")
                .query_async::<Vec<String>>(&mut *conn)
                .await;
        }
    }
}
