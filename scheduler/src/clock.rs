//! [`Clock`]: where the scheduler reads wall-clock time, so that loop tests
//! can run on tokio's paused clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The time source: the system clock in production; in tests, a wall clock
/// that advances with tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    /// `base` plus the tokio time elapsed since `started`.
    Tokio {
        base: DateTime<Utc>,
        started: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that starts at `base` and follows tokio's clock.
    pub fn tokio_at(base: DateTime<Utc>) -> Self {
        Self::Tokio {
            base,
            started: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Tokio { base, started } => {
                let elapsed = chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
                *base + elapsed
            }
        }
    }

    /// Sleeps until `at` (returns at once when it has passed). The system
    /// clock may be stepped while we sleep, so it is read again on waking.
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        loop {
            let left = at - self.now();
            let Ok(left) = left.to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
            if matches!(self, Self::Tokio { .. }) {
                return;
            }
        }
    }

    /// How long ago `at` was (zero if it is in the future).
    pub fn since(&self, at: DateTime<Utc>) -> Duration {
        (self.now() - at).to_std().unwrap_or_default()
    }
}
