//! Waiting for something a test cannot be told about, only see: a server
//! answering, a count reaching its goal, an event delivered. One poll loop
//! with a deadline, so every wait in the tests is bounded and says, when it
//! gives up, what it saw last.
//!
//! Time is `tokio::time`, so a test that pauses the clock controls it.

use std::time::Duration;

use tokio::time::Instant;

/// Calls `probe` every `every` until it gives `Ok`, and returns that. Past
/// `within`, returns the `Err` of its last call (what it saw last, for the
/// caller's message). `probe` runs at least once, even when `within` is zero.
pub async fn until<T, E>(
    within: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => return Err(last),
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

/// [`until`] for a probe with nothing to say while it waits: the first
/// `Some`, or `None` past `within`.
pub async fn until_some<T>(within: Duration, every: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    until(within, every, async || probe().await.ok_or(())).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn gives_the_first_success() {
        let mut calls = 0;
        let found = until(Duration::from_secs(1), Duration::from_millis(10), async || {
            calls += 1;
            if calls == 3 { Ok(calls) } else { Err(calls) }
        })
        .await;
        assert_eq!(found, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_with_the_last_observation() {
        let started = Instant::now();
        let mut calls = 0u32;
        let found: Result<(), u32> = until(Duration::from_secs(1), Duration::from_millis(100), async || {
            calls += 1;
            Err(calls)
        })
        .await;
        assert_eq!(found, Err(11), "at 0, 100, ..., 1000 ms");
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        let none: Option<()> = until_some(Duration::ZERO, Duration::from_millis(100), async || None).await;
        assert_eq!(none, None);
    }
}
