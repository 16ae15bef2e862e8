//! Gates for CI, in the spirit of k6's thresholds: `--max-p99 1ms`,
//! `--max-error-rate 0.1%`, `--min-rps 20000`, `--max-rss 64MiB`. Each one
//! given becomes a [`Verdict`] in the report; any failed one makes
//! `flexcore-load` exit with [`EXIT_THRESHOLDS_FAILED`](super::EXIT_THRESHOLDS_FAILED).
//! Also the parsers of the limits' values (rates and durations).

use std::time::Duration;

use anyhow::{Context, bail};

use super::report::{Report, Verdict, mebibytes, micros, thousands};

/// Limits on the whole run (every scenario together).
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub max_error_rate: Option<f64>,
    pub max_p50: Option<Duration>,
    pub max_p90: Option<Duration>,
    pub max_p99: Option<Duration>,
    pub max_p999: Option<Duration>,
    pub max_latency: Option<Duration>,
    pub min_rps: Option<f64>,
    pub max_rss: Option<u64>,
}

/// Parses `0.01`, `1%` or `0.5 %` as a fraction.
pub fn parse_rate(raw: &str) -> anyhow::Result<f64> {
    let raw = raw.trim();
    let (number, scale) = match raw.strip_suffix('%') {
        Some(pct) => (pct.trim(), 0.01),
        None => (raw, 1.0),
    };
    let value: f64 = number
        .parse()
        .with_context(|| format!("{raw:?} is not a fraction such as 0.01 or 1%"))?;
    let value = value * scale;
    if !(0.0..=1.0).contains(&value) {
        bail!("{raw:?}: an error rate is between 0 and 1 (or 0% and 100%)");
    }
    Ok(value)
}

/// Parses `1ms`, `500us`, `250µs`, `2s`.
pub fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    let normal = raw.trim().replace('µ', "u");
    humantime::parse_duration(&normal).with_context(|| format!("{raw:?} is not a duration such as 1ms or 500us"))
}

impl Thresholds {
    /// Evaluates every threshold that was given against `report`.
    pub fn check(&self, report: &Report) -> Vec<Verdict> {
        let total = &report.total;
        let mut out = Vec::new();
        if let Some(limit) = self.max_error_rate {
            out.push(Verdict {
                name: "error rate".into(),
                limit: format!("≤ {}%", limit * 100.0),
                actual: format!("{:.4}%", total.error_rate * 100.0),
                passed: total.error_rate <= limit,
            });
        }
        let latency = &total.latency_us;
        for (name, limit, actual) in [
            ("p50", self.max_p50, latency.p50_us),
            ("p90", self.max_p90, latency.p90_us),
            ("p99", self.max_p99, latency.p99_us),
            ("p99.9", self.max_p999, latency.p999_us),
            ("max latency", self.max_latency, latency.max_us),
        ] {
            if let Some(limit) = limit {
                let limit_us = limit.as_micros();
                // With no response at all there is no latency to trust.
                let passed = total.responses > 0 && u128::from(actual) <= limit_us;
                out.push(Verdict {
                    name: name.into(),
                    limit: format!("≤ {}", micros(limit_us as u64)),
                    actual: if total.responses > 0 {
                        micros(actual)
                    } else {
                        "no responses".into()
                    },
                    passed,
                });
            }
        }
        if let Some(limit) = self.min_rps {
            out.push(Verdict {
                name: "requests/s".into(),
                limit: format!("≥ {}", thousands(limit)),
                actual: thousands(total.rps),
                passed: total.rps >= limit,
            });
        }
        if let Some(limit) = self.max_rss {
            let peak = report.server_memory.map(|m| m.peak_rss_bytes);
            out.push(Verdict {
                name: "server peak RSS".into(),
                limit: format!("≤ {}", mebibytes(limit)),
                actual: peak.map_or_else(|| "unknown (give --server-pid)".into(), mebibytes),
                passed: peak.is_some_and(|p| p <= limit),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(parse_rate("1%").unwrap(), 0.01);
        assert_eq!(parse_rate("0.001").unwrap(), 0.001);
        assert!(parse_rate("150%").is_err());
        assert_eq!(parse_duration("1ms").unwrap(), Duration::from_millis(1));
        assert_eq!(parse_duration("250µs").unwrap(), Duration::from_micros(250));
        assert!(parse_duration("soon").is_err());
    }
}
