//! The engine: connections that send, and the clock that says when.
//!
//! **Closed loop** (no `--rate`): each of the N connections sends its next
//! request as soon as the previous answer is in. It finds the most the server
//! can do at that concurrency; its latency is per request, from send to the
//! last byte of the answer, so a server that stalls simply gets fewer
//! requests during the stall and the stall hides in the tail
//! (coordinated omission).
//!
//! **Open loop** (`--rate R`): request `i` is *due* at `start + i/R`. A pacer
//! thread (OS sleep, ~0.1 ms precision, unlike tokio's 1 ms timer) releases
//! one ticket per due request into a FIFO semaphore; the first free
//! connection takes it. Latency counts from the due time, so when every
//! connection is stuck behind a stall, the requests that should have gone
//! meanwhile are charged for their wait, as real users arriving at that rate
//! would be. How late requests left (`send_delay`) is reported too: it shows
//! both queueing and the generator's own pacing error.
//!
//! Both modes: requests sent (closed) or due (open) during the warm-up are not
//! recorded; those of the measured window are, even when they finish after it
//! (bounded by `--timeout`), so a slow last answer is never dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::client::{Conn, Failure, Target};
use super::mix::Mix;
use super::progress::{self, Live};
use super::stats::{Latency, Recorder};
use super::system::{CpuMark, CpuUse, RssSampler, ServerMemory};

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub target: Target,
    pub mix: Mix,
    pub connections: usize,
    /// Requests per second (open loop); `None` for a closed loop.
    pub rate: Option<f64>,
    pub warmup: Duration,
    pub duration: Duration,
    pub timeout: Duration,
    pub progress: bool,
    /// A server process to watch (CPU, memory).
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug)]
pub struct RunResult {
    /// One recorder per scenario, in the mix's order.
    pub per_scenario: Vec<Recorder>,
    /// Open loop: how long after its due time each request left.
    pub send_delay: Option<Latency>,
    /// The measured window's length.
    pub measured: Duration,
    pub cpu: CpuUse,
    pub server_memory: Option<ServerMemory>,
}

/// The open loop's schedule.
struct Pacing {
    rate: f64,
    permits: Semaphore,
    /// Requests due before the window ends.
    total: u64,
    /// Set when the run gives up (so the pacer stops early).
    abort: AtomicBool,
}

impl Pacing {
    fn due(&self, start: Instant, ticket: u64) -> Instant {
        start + Duration::from_secs_f64(ticket as f64 / self.rate)
    }
}

struct Shared {
    plan: RunPlan,
    start: Instant,
    measure_from: Instant,
    until: Instant,
    /// No request leaves after this (open loop: the backlog's drain limit).
    drain_until: Instant,
    tickets: AtomicU64,
    pacing: Option<Pacing>,
    live: Live,
}

/// Runs the plan: warm-up, then the measured window.
pub async fn run(plan: RunPlan) -> anyhow::Result<RunResult> {
    anyhow::ensure!(plan.connections > 0, "at least one connection");
    anyhow::ensure!(!plan.duration.is_zero(), "the measured window must be longer than 0");
    if let Some(rate) = plan.rate {
        anyhow::ensure!(rate.is_finite() && rate > 0.0, "--rate must be more than 0");
    }
    // A short delay lets every connection open before the first due time.
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + plan.warmup;
    let until = measure_from + plan.duration;
    let pacing = plan.rate.map(|rate| Pacing {
        rate,
        permits: Semaphore::new(0),
        total: ((until - start).as_secs_f64() * rate).ceil() as u64,
        abort: AtomicBool::new(false),
    });
    let shared = Arc::new(Shared {
        start,
        measure_from,
        until,
        drain_until: until + plan.timeout,
        tickets: AtomicU64::new(0),
        pacing,
        live: Live::default(),
        plan,
    });

    let pacer = shared.pacing.as_ref().map(|_| {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || pace(&shared))
    });
    let memory = shared.plan.server_pid.map(RssSampler::start);
    let window = tokio::spawn(cpu_window(Arc::clone(&shared)));
    let workers: Vec<_> = (0..shared.plan.connections)
        .map(|_| tokio::spawn(connection(Arc::clone(&shared))))
        .collect();

    let all_done = async {
        let mut merged = vec![Recorder::default(); shared.plan.mix.scenarios.len()];
        let mut delay = Latency::new();
        for worker in workers {
            if let Ok((recorders, worker_delay)) = worker.await {
                for (m, r) in merged.iter_mut().zip(&recorders) {
                    m.add(r);
                }
                delay.add(&worker_delay);
            }
        }
        (merged, delay)
    };
    let (per_scenario, delay) = if shared.plan.progress {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let live = Arc::clone(&shared);
        let line = tokio::spawn(async move {
            progress::show(&live.live, live.start, live.measure_from, live.until, async {
                let _ = rx.await;
            })
            .await;
        });
        let result = all_done.await;
        let _ = tx.send(());
        let _ = line.await;
        result
    } else {
        all_done.await
    };
    if let Some(pacing) = &shared.pacing {
        pacing.abort.store(true, Ordering::Relaxed);
    }
    if let Some(pacer) = pacer {
        let _ = tokio::task::spawn_blocking(move || pacer.join()).await;
    }
    let cpu = window.await.unwrap_or_default();
    let server_memory = match memory {
        Some(sampler) => sampler.finish().await,
        None => None,
    };
    Ok(RunResult {
        per_scenario,
        send_delay: shared.pacing.is_some().then_some(delay),
        measured: shared.until - shared.measure_from,
        cpu,
        server_memory,
    })
}

/// CPU counters at the window's two ends.
async fn cpu_window(shared: Arc<Shared>) -> CpuUse {
    let pid = shared.plan.server_pid;
    tokio::time::sleep_until(shared.measure_from.into()).await;
    let first = CpuMark::now(pid);
    tokio::time::sleep_until(shared.until.into()).await;
    first.until(&CpuMark::now(pid), shared.until - shared.measure_from)
}

/// The pacer thread: releases one ticket per due request, on time.
fn pace(shared: &Shared) {
    let Some(pacing) = &shared.pacing else { return };
    let mut released = 0u64;
    while released < pacing.total && !pacing.abort.load(Ordering::Relaxed) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(shared.start).as_secs_f64();
        let due = if now < shared.start {
            0
        } else {
            ((elapsed * pacing.rate).floor() as u64 + 1).min(pacing.total)
        };
        if due > released {
            pacing.permits.add_permits((due - released) as usize);
            released = due;
        }
        if released < pacing.total {
            let next = pacing.due(shared.start, released);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
    // One stop ticket per connection, after every real one (FIFO).
    pacing.permits.add_permits(shared.plan.connections);
}

/// One connection's loop; returns what it recorded per scenario, and its
/// send delays (open loop).
async fn connection(shared: Arc<Shared>) -> (Vec<Recorder>, Latency) {
    let plan = &shared.plan;
    let mut recorders = vec![Recorder::default(); plan.mix.scenarios.len()];
    let mut delay = Latency::new();
    let mut conn: Option<Conn> = None;
    tokio::time::sleep_until(shared.start.into()).await;
    loop {
        let (ticket, due) = match &shared.pacing {
            None => {
                let now = Instant::now();
                if now >= shared.until {
                    break;
                }
                (shared.tickets.fetch_add(1, Ordering::Relaxed), now)
            }
            Some(pacing) => {
                match pacing.permits.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                let ticket = shared.tickets.fetch_add(1, Ordering::Relaxed);
                if ticket >= pacing.total {
                    break;
                }
                (ticket, pacing.due(shared.start, ticket))
            }
        };
        let measured = due >= shared.measure_from;
        let scenario = plan.mix.pick(ticket);
        let recorder = &mut recorders[scenario];
        if shared.pacing.is_some() && Instant::now() > shared.drain_until {
            if measured {
                recorder.errors.not_sent += 1;
            }
            continue;
        }
        let open = match conn.as_mut().filter(|c| c.is_open()) {
            Some(c) => c,
            None => match tokio::time::timeout(plan.timeout, Conn::connect(plan.target.addr)).await {
                Ok(Ok(c)) => conn.insert(c),
                _ => {
                    conn = None;
                    shared.live.error();
                    if measured {
                        recorder.errors.connect += 1;
                    }
                    // Do not spin on a refused port.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let request = plan.target.request(&plan.mix.scenarios[scenario]);
        let sent = Instant::now();
        if measured && shared.pacing.is_some() {
            delay.record(sent.saturating_duration_since(due));
        }
        let outcome = tokio::time::timeout(plan.timeout, open.exchange(request)).await;
        let done = Instant::now();
        match outcome {
            Ok(Ok(status)) => {
                shared.live.response();
                if measured {
                    recorder.latency.record(done.saturating_duration_since(due));
                    if !status.is_success() {
                        *recorder.errors.status.entry(status.as_u16()).or_default() += 1;
                    }
                }
                if !status.is_success() {
                    shared.live.error();
                }
            }
            Ok(Err(failure)) => {
                conn = None;
                shared.live.error();
                if measured {
                    match failure {
                        Failure::Connect => recorder.errors.connect += 1,
                        Failure::Timeout => recorder.errors.timeout += 1,
                        Failure::Io => recorder.errors.io += 1,
                    }
                }
            }
            Err(_) => {
                // The request may still be in flight: this connection is spent.
                conn = None;
                shared.live.error();
                if measured {
                    recorder.errors.timeout += 1;
                }
            }
        }
    }
    (recorders, delay)
}
