//! Latency and error records, and the summaries made from them.
//!
//! Each connection records into its own [`Recorder`] (no sharing on the hot
//! path); the run merges them at the end. Latency is kept in microseconds in
//! an HdrHistogram with 3 significant digits, from 1 µs to 60 s.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Largest latency a histogram holds; longer values are clamped to it.
const MAX_US: u64 = 60_000_000;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        Self(Histogram::new_with_bounds(1, MAX_US, 3).expect("constant, valid bounds"))
    }

    /// Records one duration, clamped to the histogram's range.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(MAX_US);
        self.0.saturating_record(us.clamp(1, MAX_US));
    }

    /// Records a value in microseconds (tests and merges of known data).
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(1, MAX_US));
    }

    pub fn add(&mut self, other: &Self) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency in µs at `percentile` (0–100): at or below it lie that
    /// share of the recorded values.
    pub fn at_percentile(&self, percentile: f64) -> u64 {
        self.0.value_at_percentile(percentile)
    }

    /// Min, percentiles, max, mean and standard deviation.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.0;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            min_us: h.min(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
            stdev_us: h.stdev(),
        }
    }

    /// The percentile spectrum for charts: points at 0%, 50%, 75%, 87.5%, …
    /// (`ticks` points per halving of the distance to 100%), then the max.
    pub fn spectrum(&self, ticks: u32) -> Vec<SpectrumPoint> {
        let h = &self.0;
        if h.is_empty() {
            return Vec::new();
        }
        let mut points: Vec<SpectrumPoint> = h
            .iter_quantiles(ticks)
            .map(|v| SpectrumPoint {
                percentile: v.quantile_iterated_to() * 100.0,
                latency_us: h.highest_equivalent(v.value_iterated_to()),
            })
            .take_while(|p| p.percentile < 100.0)
            .collect();
        points.push(SpectrumPoint {
            percentile: 100.0,
            latency_us: h.max(),
        });
        points
    }
}

/// One point of a percentile spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    pub percentile: f64,
    pub latency_us: u64,
}

/// Latency percentiles in microseconds (all zero when nothing was recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub min_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    pub stdev_us: f64,
}

/// Why a request got no response, or got a non-2xx one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// The TCP connection (or HTTP handshake) could not be made.
    pub connect: u64,
    /// No complete response within `--timeout`.
    pub timeout: u64,
    /// The connection failed mid-request (reset, closed, malformed reply).
    pub io: u64,
    /// Open loop only: due inside the window but never sent, because every
    /// connection stayed busy until the drain deadline.
    pub not_sent: u64,
    /// Responses whose status was not 2xx, by status code.
    pub status: BTreeMap<u16, u64>,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.io + self.not_sent + self.status.values().sum::<u64>()
    }

    /// Requests that got no response at all.
    pub fn transport(&self) -> u64 {
        self.connect + self.timeout + self.io + self.not_sent
    }

    pub fn add(&mut self, other: &Self) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.io += other.io;
        self.not_sent += other.not_sent;
        for (code, n) in &other.status {
            *self.status.entry(*code).or_default() += n;
        }
    }

    /// `connect 2, status 503×10`, or `none`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, n) in [
            ("connect", self.connect),
            ("timeout", self.timeout),
            ("io", self.io),
            ("not sent", self.not_sent),
        ] {
            if n > 0 {
                parts.push(format!("{name} {n}"));
            }
        }
        for (code, n) in &self.status {
            parts.push(format!("status {code}×{n}"));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// What one connection (or, merged, the whole run) recorded for one scenario.
/// Every response, whatever its status, is in `latency`; non-2xx statuses are
/// also counted in `errors`.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub latency: Latency,
    pub errors: ErrorCounts,
}

impl Recorder {
    pub fn add(&mut self, other: &Self) {
        self.latency.add(&other.latency);
        self.errors.add(&other.errors);
    }

    /// Responses received (any status).
    pub fn responses(&self) -> u64 {
        self.latency.count()
    }

    /// Failed requests over all requests (responses plus those without one).
    pub fn error_rate(&self) -> f64 {
        let attempts = self.responses() + self.errors.transport();
        if attempts == 0 {
            0.0
        } else {
            self.errors.total() as f64 / attempts as f64
        }
    }
}

/// The median of `values` (mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

#[cfg(test)]
mod tests;
