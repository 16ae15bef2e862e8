//! Prometheus metrics of a scheduler replica, rendered at `/metrics`.

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::runs::RunStatus;

/// The scheduler's metric families.
pub struct Metrics {
    registry: Registry,
    /// How late each tick started behind its due time.
    tick_lag: HistogramVec,
    runs: IntCounterVec,
    claims: IntCounterVec,
    lock_held: IntGaugeVec,
    pub jobs_owned: IntGauge,
    pub lock_connected: IntGauge,
}

/// What a claim attempt came to, as the `result` label.
#[derive(Debug, Clone, Copy)]
pub enum ClaimResult {
    Claimed,
    Skipped,
    Lost,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let tick_lag = HistogramVec::new(
            HistogramOpts::new(
                "flexcore_scheduler_tick_lag_seconds",
                "How late a tick's run started behind its due time",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["job"],
        )
        .expect("static metric definition");
        let runs = IntCounterVec::new(
            Opts::new(
                "flexcore_scheduler_runs_total",
                "Runs by the status they ended in (skipped included), on this replica",
            ),
            &["job", "status"],
        )
        .expect("static metric definition");
        let claims = IntCounterVec::new(
            Opts::new(
                "flexcore_scheduler_claims_total",
                "Claim attempts by result: claimed, skipped (overlap), lost (already claimed or lock gone)",
            ),
            &["result"],
        )
        .expect("static metric definition");
        let lock_held = IntGaugeVec::new(
            Opts::new(
                "flexcore_scheduler_lock_held",
                "1 for each job whose advisory lock this replica holds",
            ),
            &["job"],
        )
        .expect("static metric definition");
        let jobs_owned = IntGauge::new("flexcore_scheduler_jobs_owned", "Jobs whose lock this replica holds")
            .expect("static metric definition");
        let lock_connected = IntGauge::new(
            "flexcore_scheduler_lock_connection_up",
            "1 while the replica's lock connection to PostgreSQL is up",
        )
        .expect("static metric definition");
        for collector in [
            Box::new(tick_lag.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(runs.clone()),
            Box::new(claims.clone()),
            Box::new(lock_held.clone()),
            Box::new(jobs_owned.clone()),
            Box::new(lock_connected.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self {
            registry,
            tick_lag,
            runs,
            claims,
            lock_held,
            jobs_owned,
            lock_connected,
        }
    }

    pub fn tick_lag(&self, job: &str, lag: Duration) {
        self.tick_lag.with_label_values(&[job]).observe(lag.as_secs_f64());
    }

    pub fn run_ended(&self, job: &str, status: RunStatus) {
        self.runs.with_label_values(&[job, status.as_str()]).inc();
    }

    pub fn claim(&self, result: ClaimResult) {
        let label = match result {
            ClaimResult::Claimed => "claimed",
            ClaimResult::Skipped => "skipped",
            ClaimResult::Lost => "lost",
        };
        self.claims.with_label_values(&[label]).inc();
    }

    /// Sets the lock gauges to exactly `owned` among `known`.
    pub fn owned(&self, known: &[String], owned: &std::collections::BTreeSet<String>) {
        self.lock_held.reset();
        for job in known {
            self.lock_held
                .with_label_values(&[job])
                .set(i64::from(owned.contains(job)));
        }
        self.jobs_owned.set(i64::try_from(owned.len()).unwrap_or(i64::MAX));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("cannot render metrics: {e}");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
