//! One campaign: every part of the comparison against every target in turn
//! (A B A B…), round after round, each run's JSON report kept under
//! `--out/<part>/`. The closed-loop parts find each target's maximum;
//! `rates` then offers every target the same fixed load; the gateway-only
//! parts (pipeline, events) send their setup requests first.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::args::{CompareArgs, Part};
use super::summary::{self, Results};
use super::table::{BASELINE, PartSummary};
use super::targets::{Kind, Running};
use crate::load::client::Target;
use crate::load::report::{micros, thousands};
use crate::load::{Mix, Report, RunPlan, ScenarioSet};

const ECHO_SCENARIO: &str = include_str!("../../scenarios/echo-64.toml");
const DATA_PROCESSOR_SCENARIO: &str = include_str!("../../scenarios/data-processor-1k.toml");
const PIPELINE_SCENARIO: &str = include_str!("../../scenarios/pipeline-3-step.toml");
const EVENTS_SCENARIO: &str = include_str!("../../scenarios/events-publish.toml");

/// The echo scenario, 64 B (the targets are started for its body size).
pub(super) fn echo_scenario() -> anyhow::Result<ScenarioSet> {
    parse_embedded(ECHO_SCENARIO, "echo-64.toml")
}

/// What every part needs: the command line, the servers, the output folder.
struct Campaign<'a> {
    args: &'a CompareArgs,
    running: &'a [Running],
    out: &'a Path,
}

/// Every part, every round; returns whether all measured goals were met.
pub(super) async fn run(args: &CompareArgs, running: &[Running], out: &Path) -> anyhow::Result<bool> {
    let c = Campaign { args, running, out };
    let wants = |p: Part| args.parts.contains(&p);
    let echo = echo_scenario()?;
    let mut parts: Vec<PartSummary> = Vec::new();

    let echo_part = if wants(Part::Echo) || wants(Part::Rates) {
        let part = c
            .closed(
                &echo,
                "echo-64-closed",
                "echo 64 B, closed loop (the most each target can do)",
                "nginx answers a fixed 64-byte body instead of echoing.".into(),
                |_| true,
            )
            .await?;
        parts.push(part.clone());
        Some(part)
    } else {
        None
    };
    if wants(Part::DataProcessor) {
        let set = parse_embedded(DATA_PROCESSOR_SCENARIO, "data-processor-1k.toml")?;
        let note = format!(
            "Only the gateway runs data-processor; {BASELINE} and workerd echo the same 1 KiB, so the ratio is the plugin's work plus the gateway's."
        );
        parts.push(
            c.closed(
                &set,
                "data-processor-1k",
                "data-processor 1 KiB JSON, closed loop",
                note,
                Kind::echoes,
            )
            .await?,
        );
    }
    if wants(Part::Pipeline) {
        let title = "3-step pipeline (echo → data-processor → echo) on 1 KiB JSON, closed loop";
        parts.extend(c.gateway_only(PIPELINE_SCENARIO, "pipeline-3-step.toml", title).await?);
    }
    if wants(Part::Events) {
        let title = "event publishing (POST /events, in-process bus), closed loop";
        parts.extend(c.gateway_only(EVENTS_SCENARIO, "events-publish.toml", title).await?);
    }
    let rates = match (&echo_part, wants(Part::Rates)) {
        (Some(echo_part), true) => c.rates(&echo, echo_part).await?,
        _ => Vec::new(),
    };
    let rate50 = rates.first().cloned();
    parts.extend(rates);
    let offloaded = c.offloaded_plugins().await;
    let results = Results {
        parts: &parts,
        echo: echo_part.as_ref(),
        rate50: rate50.as_ref(),
        offloaded,
    };
    summary::finish(args, running, out, results)
}

impl Campaign<'_> {
    /// A closed-loop part over the targets `include` accepts.
    async fn closed(
        &self,
        set: &ScenarioSet,
        name: &str,
        title: &str,
        note: String,
        include: impl Fn(Kind) -> bool,
    ) -> anyhow::Result<PartSummary> {
        let runs = rounds(self.args, self.running, set, None, name, self.out, include).await?;
        summary::write_chart(self.out, name, title, false, &runs)?;
        Ok(PartSummary::new(title, false, Some(note), &runs))
    }

    /// A scenario only the gateway serves (its setup requests sent first);
    /// nothing when the gateway is not among the targets.
    async fn gateway_only(&self, text: &str, file: &str, title: &str) -> anyhow::Result<Option<PartSummary>> {
        let Some(gateway) = self.running.iter().find(|r| r.kind == Kind::Gateway) else {
            return Ok(None);
        };
        let mut set = parse_embedded(text, file)?;
        crate::load::client::run_setup(&Target::from_addr(gateway.addr), &mut set, Duration::from_secs(5))
            .await
            .with_context(|| format!("setting up {file} on the gateway"))?;
        let note = "Gateway only: no baseline has this feature.".to_owned();
        let part = self
            .closed(&set, file.trim_end_matches(".toml"), title, note, |k| {
                k == Kind::Gateway
            })
            .await?;
        Ok(Some(part))
    }

    /// Echo in open loop at 50% and 80% of the gateway's (else the
    /// baseline's) median maximum, the same offered rate for every target.
    async fn rates(&self, echo: &ScenarioSet, echo_part: &PartSummary) -> anyhow::Result<Vec<PartSummary>> {
        let (reference, max) = echo_part
            .target("gateway")
            .or_else(|| echo_part.target(BASELINE))
            .map(|t| (t.target.clone(), t.rps.median))
            .filter(|(_, rps)| *rps > 0.0)
            .context("no maximum rate measured for the fixed-rate runs")?;
        let mut parts = Vec::new();
        for pct in [50u32, 80] {
            let rate = max * f64::from(pct) / 100.0;
            // A target whose own maximum is below the offered rate would only
            // queue until the drain limit: say so instead of measuring it.
            let (able, left_out): (Vec<Kind>, Vec<Kind>) = self
                .running
                .iter()
                .map(|r| r.kind)
                .partition(|k| echo_part.target(k.name()).is_none_or(|t| t.rps.median >= rate));
            let name = format!("echo-64-rate{pct}");
            let runs = rounds(self.args, self.running, echo, Some(rate), &name, self.out, |k| {
                able.contains(&k)
            })
            .await?;
            let title = format!(
                "echo 64 B, open loop at {pct}% of the {reference}'s maximum: {} req/s offered to every target",
                thousands(rate)
            );
            summary::write_chart(self.out, &name, &title, true, &runs)?;
            let mut note = "Latency counted from each request's due time (coordinated omission corrected).".to_owned();
            if !left_out.is_empty() {
                let names: Vec<&str> = left_out.iter().map(|k| k.name()).collect();
                note.push_str(&format!(
                    " Not run: {} (its closed-loop maximum is below this rate).",
                    names.join(", ")
                ));
            }
            parts.push(PartSummary::new(&title, true, Some(note), &runs));
        }
        Ok(parts)
    }

    /// The gateway's plugins that ended up on the blocking pool (a plugin
    /// moves there for good after one call slower than `slow_call_threshold`,
    /// which changes what the runs after it measured). `None` if unknown.
    async fn offloaded_plugins(&self) -> Option<Vec<String>> {
        let gateway = self.running.iter().find(|r| r.kind == Kind::Gateway)?;
        let target = Target::from_addr(gateway.addr);
        let (_, body) = crate::load::client::get(&target, "/plugins", Duration::from_secs(5))
            .await
            .ok()?;
        let list: serde_json::Value = serde_json::from_slice(&body).ok()?;
        Some(
            list["plugins"]
                .as_array()?
                .iter()
                .filter(|p| p["runs_on_blocking_pool"].as_bool() == Some(true))
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect(),
        )
    }
}

/// Runs `set` against each target in turn, `args.rounds` times.
async fn rounds(
    args: &CompareArgs,
    running: &[Running],
    set: &ScenarioSet,
    rate: Option<f64>,
    name: &str,
    out: &Path,
    include: impl Fn(Kind) -> bool,
) -> anyhow::Result<Vec<(String, Report)>> {
    let dir = out.join(name);
    std::fs::create_dir_all(&dir)?;
    let mut runs = Vec::new();
    for round in 1..=args.rounds {
        for target in running.iter().filter(|r| include(r.kind)) {
            let plan = RunPlan {
                target: Target::from_addr(target.addr),
                mix: Mix::new(set.scenarios.clone())?,
                connections: args.connections,
                rate,
                warmup: args.warmup,
                duration: args.duration,
                timeout: Duration::from_secs(5),
                progress: false,
                server_pid: Some(target.pid()),
            };
            let label = target.kind.name();
            let report = Report::measure(&plan, Some(label), args.threads).await?;
            eprintln!(
                "{name} round {round}/{}: {label:<10} {:>9} req/s  p50 {:>8}  p99 {:>8}  errors {}",
                args.rounds,
                thousands(report.total.rps),
                micros(report.total.latency_us.p50_us),
                micros(report.total.latency_us.p99_us),
                report.total.errors.describe(),
            );
            std::fs::write(
                dir.join(format!("{label}-r{round}.json")),
                serde_json::to_vec_pretty(&report)?,
            )?;
            runs.push((label.to_owned(), report));
            // Let the closed connections and the server settle.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    Ok(runs)
}

fn parse_embedded(text: &str, name: &str) -> anyhow::Result<ScenarioSet> {
    ScenarioSet::parse(
        text,
        name,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").as_path(),
    )
}
