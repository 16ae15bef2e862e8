//! The live progress line on stderr: phase, elapsed time, requests per second
//! over the last second and errors so far. Redrawn in place on a terminal;
//! elsewhere (CI logs) one line every 5 s.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters the connections bump and the progress line reads.
#[derive(Debug, Default)]
pub struct Live {
    pub responses: AtomicU64,
    pub errors: AtomicU64,
}

impl Live {
    pub fn response(&self) {
        self.responses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Draws the line until `done` resolves. `measure_from` and `until` frame
/// the measured window.
pub async fn show(
    live: &Live,
    started: Instant,
    measure_from: Instant,
    until: Instant,
    done: impl std::future::Future<Output = ()>,
) {
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut last = (Instant::now(), 0u64);
    tokio::pin!(done);
    loop {
        tokio::select! {
            _ = &mut done => break,
            _ = tick.tick() => {
                let now = Instant::now();
                let responses = live.responses.load(Ordering::Relaxed);
                let rate = (responses - last.1) as f64 / (now - last.0).as_secs_f64().max(1e-3);
                last = (now, responses);
                let phase = if now < measure_from { "warm-up " } else if now < until { "measuring" } else { "draining" };
                let line = format!(
                    "{phase} {:>6.1}/{:.1} s  {:>10.0} req/s  {} errors",
                    (now - started).as_secs_f64(),
                    (until - started).as_secs_f64(),
                    rate,
                    live.errors.load(Ordering::Relaxed),
                );
                let mut err = std::io::stderr().lock();
                let _ = if terminal { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
                let _ = err.flush();
            }
        }
    }
    if terminal {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
    }
}
