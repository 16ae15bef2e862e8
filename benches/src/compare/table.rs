//! From the reports of every round to the table `compare` prints: per target,
//! the median over rounds (with the spread) and the ratio against the bare
//! hyper baseline measured in the same rounds. Markdown, so the same text
//! reads well in a terminal and pastes into `benches/README.md`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::load::Report;
use crate::load::report::{mebibytes, micros, thousands};
use crate::load::stats::median;

/// The baseline every ratio is taken against.
pub const BASELINE: &str = "bare-hyper";

/// Median, smallest and largest of one figure over the rounds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        Self {
            median: median(values).unwrap_or(0.0),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(0.0, f64::max),
        }
    }
}

/// One target's rounds in one part, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    pub target: String,
    pub runs: usize,
    pub rps: Spread,
    pub p50_us: Spread,
    pub p99_us: Spread,
    pub p999_us: Spread,
    pub errors: u64,
    pub server_cores: Option<f64>,
    /// Median server CPU time per response (µs): the cost of a request,
    /// independent of the share of the machine the server got.
    pub server_us_per_request: Option<f64>,
    pub other_cores: Option<f64>,
    /// Median req/s (closed loop) or median p99 (open loop) over the
    /// baseline's same figure.
    pub ratio: Option<f64>,
}

/// One part of the comparison (a scenario at a load) and its summaries.
#[derive(Debug, Clone, Serialize)]
pub struct PartSummary {
    pub title: String,
    /// Closed loop compares throughput; open loop compares latency.
    pub open_loop: bool,
    pub note: Option<String>,
    pub targets: Vec<TargetSummary>,
}

impl PartSummary {
    /// Summarises `(target, report)` pairs, keeping the targets' first-seen order.
    pub fn new(title: &str, open_loop: bool, note: Option<String>, runs: &[(String, Report)]) -> Self {
        let mut order: Vec<&str> = Vec::new();
        for (target, _) in runs {
            if !order.contains(&target.as_str()) {
                order.push(target);
            }
        }
        let mut targets: Vec<TargetSummary> = order
            .iter()
            .map(|name| {
                let mine: Vec<&Report> = runs.iter().filter(|(t, _)| t == name).map(|(_, r)| r).collect();
                let figure = |f: &dyn Fn(&Report) -> f64| Spread::of(&mine.iter().map(|r| f(r)).collect::<Vec<_>>());
                let optional =
                    |f: &dyn Fn(&Report) -> Option<f64>| median(&mine.iter().filter_map(|r| f(r)).collect::<Vec<_>>());
                TargetSummary {
                    target: (*name).to_owned(),
                    runs: mine.len(),
                    rps: figure(&|r| r.total.rps),
                    p50_us: figure(&|r| r.total.latency_us.p50_us as f64),
                    p99_us: figure(&|r| r.total.latency_us.p99_us as f64),
                    p999_us: figure(&|r| r.total.latency_us.p999_us as f64),
                    errors: mine.iter().map(|r| r.total.errors.total()).sum(),
                    server_cores: optional(&|r| r.cpu.server_cores),
                    server_us_per_request: optional(&|r| r.cpu.server_us_per_request),
                    other_cores: optional(&|r| r.cpu.other_cores),
                    ratio: None,
                }
            })
            .collect();
        let base = targets
            .iter()
            .find(|t| t.target == BASELINE)
            .map(|t| if open_loop { t.p99_us.median } else { t.rps.median });
        for t in &mut targets {
            let mine = if open_loop { t.p99_us.median } else { t.rps.median };
            t.ratio = base.filter(|b| *b > 0.0).map(|b| mine / b);
        }
        Self {
            title: title.to_owned(),
            open_loop,
            note,
            targets,
        }
    }

    pub fn target(&self, name: &str) -> Option<&TargetSummary> {
        self.targets.iter().find(|t| t.target == name)
    }

    /// The part as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "#### {}\n", self.title);
        if let Some(note) = &self.note {
            let _ = writeln!(out, "{note}\n");
        }
        let cores = |c: Option<f64>| c.map_or_else(|| "?".into(), |c| format!("{c:.2}"));
        let cost = |c: Option<f64>| c.map_or_else(|| "?".into(), |c| format!("{c:.1}"));
        let other = |c: Option<f64>| c.map_or_else(|| "?".into(), |c| format!("{c:.2}"));
        let ratio = |r: Option<f64>| r.map_or_else(|| "–".into(), |r| format!("{r:.2}"));
        if self.open_loop {
            let _ = writeln!(
                out,
                "| target | achieved req/s | p50 | p99 (median) | p99 min–max | p99.9 | p99 × {BASELINE} | errors | server cores | other cores |"
            );
            let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            for t in &self.targets {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | **{}** | {}–{} | {} | {} | {} | {} | {} |",
                    t.target,
                    thousands(t.rps.median),
                    micros(t.p50_us.median as u64),
                    micros(t.p99_us.median as u64),
                    micros(t.p99_us.min as u64),
                    micros(t.p99_us.max as u64),
                    micros(t.p999_us.median as u64),
                    ratio(t.ratio),
                    t.errors,
                    cores(t.server_cores),
                    other(t.other_cores),
                );
            }
        } else {
            let _ = writeln!(
                out,
                "| target | req/s (median) | req/s min–max | × {BASELINE} | p50 | p99 | errors | server cores | server CPU µs/req | other cores |"
            );
            let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            for t in &self.targets {
                let _ = writeln!(
                    out,
                    "| {} | **{}** | {}–{} | {} | {} | {} | {} | {} | {} | {} |",
                    t.target,
                    thousands(t.rps.median),
                    thousands(t.rps.min),
                    thousands(t.rps.max),
                    ratio(t.ratio),
                    micros(t.p50_us.median as u64),
                    micros(t.p99_us.median as u64),
                    t.errors,
                    cores(t.server_cores),
                    cost(t.server_us_per_request),
                    other(t.other_cores),
                );
            }
        }
        out
    }
}

/// One of the performance goals, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    pub actual: String,
    pub met: Option<bool>,
}

impl Goal {
    pub fn markdown(goals: &[Self]) -> String {
        let mut out = String::from("| goal | measured | met |\n|---|--:|:-:|\n");
        for g in goals {
            let met = match g.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "not measured",
            };
            let _ = writeln!(out, "| {} | {} | {met} |", g.goal, g.actual);
        }
        out
    }
}

/// The three goals of issue 6, from what was measured.
pub fn goals(echo: Option<&PartSummary>, rate50: Option<&PartSummary>, gateway_peak_rss: Option<u64>) -> Vec<Goal> {
    let ratio = echo.and_then(|p| p.target("gateway")).and_then(|t| t.ratio);
    let p99 = rate50.and_then(|p| p.target("gateway")).map(|t| t.p99_us.median);
    vec![
        Goal {
            goal: format!("gateway echo 64 B, 64 connections: req/s ≥ 0.90 × {BASELINE}"),
            actual: ratio.map_or_else(|| "–".into(), |r| format!("{r:.2} ×")),
            met: ratio.map(|r| r >= 0.90),
        },
        Goal {
            goal: "gateway p99 at 50% of its max rate < 1 ms".into(),
            actual: p99.map_or_else(|| "–".into(), |p| micros(p as u64)),
            met: p99.map(|p| p < 1000.0),
        },
        Goal {
            goal: "gateway peak RSS (VmHWM) < 64 MiB".into(),
            actual: gateway_peak_rss.map_or_else(|| "–".into(), mebibytes),
            met: gateway_peak_rss.map(|b| b < 64 * 1024 * 1024),
        },
    ]
}

#[cfg(test)]
mod tests;
