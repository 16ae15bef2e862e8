//! A run's [`Report`]: the setup it ran with, what each scenario and the
//! whole mix measured, what the machine did meanwhile and the thresholds'
//! [`Verdict`]s. [`Report::measure`] runs a plan and makes its report (for
//! `run` and `compare` alike). Serialised as-is for `--json` (and read back
//! by `chart` and `compare`); [`Report::text`] is the human form.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::run::{RunPlan, RunResult};
use super::stats::{ErrorCounts, LatencySummary, Recorder, SpectrumPoint};
use super::system::{self, CoreSharing, CpuUse, ServerMemory};

/// Points per halving of the distance to 100% in the stored spectrum.
const SPECTRUM_TICKS: u32 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// `flexcore-load <version>`.
    pub tool: String,
    /// A name for charts and tables (`--label`, else the first scenario's).
    pub label: String,
    pub setup: Setup,
    /// Every scenario together.
    pub total: Measured,
    /// Each scenario alone (one entry when there is no mix).
    pub scenarios: Vec<Measured>,
    /// Open loop: how long after its due time each request actually left.
    pub send_delay_us: Option<LatencySummary>,
    pub cpu: CpuUse,
    pub server_memory: Option<ServerMemory>,
    pub thresholds: Vec<Verdict>,
}

/// One threshold's outcome (the thresholds are checked in
/// [`threshold`](super::threshold)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub name: String,
    pub limit: String,
    pub actual: String,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Setup {
    pub target: String,
    /// `closed` or `open`.
    pub mode: String,
    pub connections: usize,
    pub rate: Option<f64>,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub timeout_s: f64,
    pub client_threads: usize,
    pub server_pid: Option<u32>,
    pub cores: CoreSharing,
    pub load_average: Option<f64>,
    pub scenarios: Vec<ScenarioSetup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioSetup {
    pub name: String,
    pub method: String,
    pub path: String,
    pub body_bytes: usize,
    pub weight: u32,
}

/// What was measured for one scenario (or all of them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub name: String,
    /// Responses of any status.
    pub responses: u64,
    /// Responses per second of the measured window.
    pub rps: f64,
    pub errors: ErrorCounts,
    pub error_rate: f64,
    pub latency_us: LatencySummary,
    pub spectrum: Vec<SpectrumPoint>,
}

impl Measured {
    fn of(name: &str, recorder: &Recorder, seconds: f64) -> Self {
        Self {
            name: name.to_owned(),
            responses: recorder.responses(),
            rps: recorder.responses() as f64 / seconds.max(1e-9),
            errors: recorder.errors.clone(),
            error_rate: recorder.error_rate(),
            latency_us: recorder.latency.summary(),
            spectrum: recorder.latency.spectrum(SPECTRUM_TICKS),
        }
    }
}

impl Report {
    /// Runs `plan` and makes its report, with what the machine did meanwhile
    /// (no thresholds checked yet).
    pub async fn measure(plan: &RunPlan, label: Option<&str>, client_threads: usize) -> anyhow::Result<Self> {
        let cores = CoreSharing::detect(plan.server_pid);
        let load = system::load_average();
        let result = super::run(plan.clone()).await?;
        Ok(Self::new(plan, &result, label, client_threads, cores, load))
    }

    pub fn new(
        plan: &RunPlan,
        result: &RunResult,
        label: Option<&str>,
        client_threads: usize,
        cores: CoreSharing,
        load_average: Option<f64>,
    ) -> Self {
        let seconds = result.measured.as_secs_f64();
        let mut all = Recorder::default();
        for r in &result.per_scenario {
            all.add(r);
        }
        let names: Vec<&str> = plan.mix.scenarios.iter().map(|s| s.name.as_str()).collect();
        let label = label.map(str::to_owned).unwrap_or_else(|| names.join("+"));
        let total = Measured::of(&label, &all, seconds);
        Self {
            tool: format!("flexcore-load {}", env!("CARGO_PKG_VERSION")),
            setup: Setup {
                target: plan.target.base.clone(),
                mode: if plan.rate.is_some() { "open" } else { "closed" }.into(),
                connections: plan.connections,
                rate: plan.rate,
                warmup_s: plan.warmup.as_secs_f64(),
                duration_s: plan.duration.as_secs_f64(),
                timeout_s: plan.timeout.as_secs_f64(),
                client_threads,
                server_pid: plan.server_pid,
                cores,
                load_average,
                scenarios: plan
                    .mix
                    .scenarios
                    .iter()
                    .map(|s| ScenarioSetup {
                        name: s.name.clone(),
                        method: s.method.to_string(),
                        path: s.path.clone(),
                        body_bytes: s.body.len(),
                        weight: s.weight,
                    })
                    .collect(),
            },
            cpu: result.cpu.clone().per_request(total.rps),
            total,
            scenarios: names
                .iter()
                .zip(&result.per_scenario)
                .map(|(name, r)| Measured::of(name, r, seconds))
                .collect(),
            label,
            send_delay_us: result.send_delay.as_ref().map(|d| d.summary()),
            server_memory: result.server_memory,
            thresholds: Vec::new(),
        }
    }

    /// Whether every threshold held.
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|v| v.passed)
    }

    /// The human-readable form.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let s = &self.setup;
        let mode = match s.rate {
            Some(rate) => format!("open loop at {} req/s", thousands(rate)),
            None => "closed loop".into(),
        };
        let _ = writeln!(
            out,
            "{} — {mode}, {} connections, {} s measured after {} s warm-up, {} client thread{}",
            self.tool,
            s.connections,
            trim(s.duration_s),
            trim(s.warmup_s),
            s.client_threads,
            if s.client_threads == 1 { "" } else { "s" },
        );
        let _ = writeln!(out, "target       {}", s.target);
        let _ = writeln!(out, "cores        {}", s.cores.note);
        for sc in &s.scenarios {
            let _ = writeln!(
                out,
                "scenario     {}: {} {} ({} B body){}",
                sc.name,
                sc.method,
                sc.path,
                sc.body_bytes,
                if s.scenarios.len() > 1 {
                    format!(", weight {}", sc.weight)
                } else {
                    String::new()
                },
            );
        }
        let _ = writeln!(out);
        let many = self.scenarios.len() > 1;
        for m in std::iter::once(&self.total).chain(self.scenarios.iter().filter(|_| many)) {
            if many {
                let _ = writeln!(out, "[{}]", m.name);
            }
            let _ = writeln!(
                out,
                "requests/s   {}   ({} responses in {} s)",
                thousands(m.rps),
                thousands(m.responses as f64),
                trim(s.duration_s)
            );
            let l = &m.latency_us;
            let _ = writeln!(
                out,
                "latency      min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                micros(l.min_us),
                micros(l.p50_us),
                micros(l.p90_us),
                micros(l.p99_us),
                micros(l.p999_us),
                micros(l.max_us)
            );
            let _ = writeln!(
                out,
                "errors       {}{}",
                m.errors.describe(),
                if m.errors.total() > 0 {
                    format!("  ({:.3}% of requests)", m.error_rate * 100.0)
                } else {
                    String::new()
                }
            );
        }
        if let Some(d) = &self.send_delay_us {
            let _ = writeln!(
                out,
                "send delay   p50 {}  p99 {}  max {}  (due time to send: pacing error plus waiting for a free connection; counted in latency)",
                micros(d.p50_us),
                micros(d.p99_us),
                micros(d.max_us)
            );
        }
        let cores = |v: Option<f64>| v.map_or_else(|| "?".into(), |c| format!("{c:.2}"));
        let per_request = |v: Option<f64>| v.map_or_else(String::new, |us| format!(" ({us:.1} µs/request)"));
        let _ = writeln!(
            out,
            "cpu          client {} cores{}, server {}, other processes {} (of {}){}",
            cores(self.cpu.client_cores),
            per_request(self.cpu.client_us_per_request),
            self.cpu.server_cores.map_or_else(
                || "? (no --server-pid)".into(),
                |c| format!("{c:.2}{}", per_request(self.cpu.server_us_per_request))
            ),
            cores(self.cpu.other_cores),
            s.cores.cores,
            s.load_average
                .map_or_else(String::new, |l| format!("; load average {l:.2} before"))
        );
        if let Some(mem) = &self.server_memory {
            let _ = writeln!(
                out,
                "server       peak RSS {} (VmHWM), largest sampled RSS {}",
                mebibytes(mem.peak_rss_bytes),
                mebibytes(mem.max_sampled_rss_bytes)
            );
        }
        if !self.thresholds.is_empty() {
            let _ = writeln!(out);
            for v in &self.thresholds {
                let _ = writeln!(
                    out,
                    "threshold    {:<5} {} {} (limit {})",
                    if v.passed { "ok" } else { "FAIL" },
                    v.name,
                    v.actual,
                    v.limit
                );
            }
        }
        out
    }
}

/// `62 µs`, `1.24 ms`, `12.3 ms`, `1.20 s`.
pub fn micros(us: u64) -> String {
    let us = us as f64;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// `52,341` (rounded to whole numbers).
pub fn thousands(value: f64) -> String {
    let rounded = value.round() as u64;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3 MiB`.
pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn trim(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(52341.4), "52,341");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(micros(62), "62 µs");
        assert_eq!(micros(1240), "1.24 ms");
        assert_eq!(micros(12_340), "12.3 ms");
        assert_eq!(micros(1_200_000), "1.20 s");
        assert_eq!(mebibytes(12 * 1024 * 1024), "12.0 MiB");
        assert_eq!(trim(10.0), "10");
        assert_eq!(trim(0.25), "0.25");
    }
}
