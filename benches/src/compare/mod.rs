//! `flexcore-load compare`: the gateway next to its baselines, measured in the
//! same run, in turn (A B A B…), over several rounds; medians and ratios.
//!
//! - [`targets`]: starting and stopping the servers (gateway, bare hyper,
//!   nginx, workerd; the last two only when installed);
//! - [`table`]: medians over rounds, ratios against bare hyper, the goals.
//!
//! The parts, each run against every target in turn, round after round:
//! `echo` (64 B, closed loop, 64 connections: the most each can do),
//! `data-processor` (1 KiB JSON, closed loop; bare hyper echoes the same
//! bytes), and `rates` (echo 64 B, open loop at 50% and 80% of the gateway's
//! measured maximum, the same offered load for every target: p99 under a
//! realistic load); `pipeline` and `events` (the gateway alone: a 3-step
//! pipeline, and `POST /events`). The gateway's peak RSS is read at the end. Reports,
//! charts and the summary are written to `--out`.

pub mod table;
pub mod targets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

use self::table::{BASELINE, Goal, PartSummary};
use self::targets::{Kind, Programs, Running};
use crate::load::chart::{self, Series};
use crate::load::client::Target;
use crate::load::report::{mebibytes, micros, thousands};
use crate::load::{EXIT_THRESHOLDS_FAILED, Mix, Report, RunPlan, ScenarioSet};

const ECHO_SCENARIO: &str = include_str!("../../scenarios/echo-64.toml");
const DATA_PROCESSOR_SCENARIO: &str = include_str!("../../scenarios/data-processor-1k.toml");
const PIPELINE_SCENARIO: &str = include_str!("../../scenarios/pipeline-3-step.toml");
const EVENTS_SCENARIO: &str = include_str!("../../scenarios/events-publish.toml");

/// A part of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    Echo,
    DataProcessor,
    Rates,
    /// A 3-step pipeline (gateway only: no baseline has pipelines).
    Pipeline,
    /// `POST /events` on the in-process bus (gateway only).
    Events,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Folder holding flexcore-gateway, bare-echo and the plugin .so files
    /// (default: this program's own folder, i.e. target/release).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Targets, in the order each round visits them.
    #[arg(long, value_delimiter = ',', default_value = "bare-hyper,gateway,nginx,workerd")]
    pub targets: Vec<String>,
    /// What to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "echo,data-processor,rates,pipeline,events"
    )]
    pub parts: Vec<Part>,
    /// Rounds (each visits every target once); medians are over rounds.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Measured window of each run.
    #[arg(short = 'd', long, default_value = "5s", value_parser = duration)]
    pub duration: Duration,
    /// Warm-up of each run.
    #[arg(short = 'w', long, default_value = "1s", value_parser = duration)]
    pub warmup: Duration,
    /// Connections of every run.
    #[arg(short = 'c', long, default_value_t = 64)]
    pub connections: usize,
    /// Client threads.
    #[arg(short = 't', long, default_value_t = 1)]
    pub threads: usize,
    /// Where reports, charts and summary.md go (default: target/flexcore-compare/<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Exit 3 when a performance goal is not met.
    #[arg(long)]
    pub check_goals: bool,
}

fn duration(raw: &str) -> Result<Duration, String> {
    crate::load::threshold::parse_duration(raw).map_err(|e| format!("{e:#}"))
}

/// Starts the targets, measures, prints the tables, stops the targets.
pub async fn run(args: &CompareArgs) -> anyhow::Result<i32> {
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no folder for this program")?
            .to_path_buf(),
    };
    let programs = Programs {
        bin_dir: bin_dir.clone(),
        nginx: targets::find_nginx(),
        workerd: targets::find_workerd(),
    };
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => bin_dir
            .parent()
            .unwrap_or(&bin_dir)
            .join("flexcore-compare")
            .join(chrono_free_stamp()),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;

    let echo = parse_embedded(ECHO_SCENARIO, "echo-64.toml")?;
    let echo_size = echo.scenarios.first().map_or(64, |s| s.body.len());
    let mut running: Vec<Running> = Vec::new();
    for name in &args.targets {
        let kind = Kind::parse(name)?;
        match (kind, &programs.nginx, &programs.workerd) {
            (Kind::Nginx, None, _) => {
                eprintln!("nginx: not installed, skipped (apt-get install nginx to include it)");
                continue;
            }
            (Kind::Workerd, _, None) => {
                eprintln!(
                    "workerd: not installed, skipped (npm install --prefix benches workerd, or set WORKERD=/path/to/workerd)"
                );
                continue;
            }
            _ => {}
        }
        // Blocking for the second it takes to start is fine: nothing runs yet.
        let started = Running::start(kind, &programs, echo_size)?;
        eprintln!("{}: started, pid {}, {}", kind.name(), started.pid(), started.addr);
        running.push(started);
    }
    anyhow::ensure!(!running.is_empty(), "no target to measure");

    let interrupted = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {},
        }
    };
    let outcome = tokio::select! {
        outcome = campaign(args, &running, &out) => outcome,
        () = interrupted => Err(anyhow::anyhow!("interrupted")),
    };
    eprintln!("stopping {} server(s)", running.len());
    drop(running);
    let goals_met = outcome?;
    Ok(if args.check_goals && !goals_met {
        EXIT_THRESHOLDS_FAILED
    } else {
        0
    })
}

/// What every part needs: the command line, the servers, the output folder.
struct Campaign<'a> {
    args: &'a CompareArgs,
    running: &'a [Running],
    out: &'a Path,
}

/// Every part, every round; returns whether all measured goals were met.
async fn campaign(args: &CompareArgs, running: &[Running], out: &Path) -> anyhow::Result<bool> {
    let c = Campaign { args, running, out };
    let wants = |p: Part| args.parts.contains(&p);
    let echo = parse_embedded(ECHO_SCENARIO, "echo-64.toml")?;
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
    c.finish(&parts, echo_part.as_ref(), rate50.as_ref(), offloaded)
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
        write_chart(self.out, name, title, false, &runs)?;
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
            write_chart(self.out, &name, &title, true, &runs)?;
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

    /// Prints and writes the summary; returns whether every measured goal was met.
    fn finish(
        &self,
        parts: &[PartSummary],
        echo: Option<&PartSummary>,
        rate50: Option<&PartSummary>,
        offloaded: Option<Vec<String>>,
    ) -> anyhow::Result<bool> {
        let args = self.args;
        let sharing = crate::load::system::CoreSharing::detect(self.running.first().map(Running::pid));
        let mut summary = format!(
            "FlexCore compare: {} rounds (targets in turn: {}), each run {} s measured after {} s warm-up, {} connections, {} client thread(s).\n{}.\n\n",
            args.rounds,
            self.running
                .iter()
                .map(|r| r.kind.name())
                .collect::<Vec<_>>()
                .join(" → "),
            args.duration.as_secs_f64(),
            args.warmup.as_secs_f64(),
            args.connections,
            args.threads,
            sharing.note,
        );
        let gateway_rss = self
            .running
            .iter()
            .find(|r| r.kind == Kind::Gateway)
            .and_then(|r| crate::load::system::memory(r.pid()))
            .map(|(peak, _)| peak);
        for part in parts {
            summary.push_str(&part.markdown());
            summary.push('\n');
        }
        if let Some(rss) = gateway_rss {
            summary.push_str(&format!(
                "Gateway peak RSS over all runs (VmHWM): {}.\n\n",
                mebibytes(rss)
            ));
        }
        match &offloaded {
            Some(names) if !names.is_empty() => summary.push_str(&format!(
                "Gateway plugins on the blocking pool after the runs: {} (moved there after a call slower than `slow_call_threshold`; the runs after that measured the blocking pool).\n\n",
                names.join(", ")
            )),
            Some(_) => summary.push_str("Every gateway plugin still ran inline after the runs.\n\n"),
            None => {}
        }
        let goals = table::goals(echo, rate50, gateway_rss);
        summary.push_str(&Goal::markdown(&goals));
        println!("{summary}");
        std::fs::write(self.out.join("summary.md"), &summary)?;
        let json = serde_json::json!({
            "parts": parts,
            "goals": goals,
            "gateway_peak_rss_bytes": gateway_rss,
            "gateway_plugins_on_blocking_pool": offloaded,
        });
        std::fs::write(self.out.join("summary.json"), serde_json::to_vec_pretty(&json)?)?;
        eprintln!("reports, charts and summary in {}", self.out.display());
        Ok(goals.iter().all(|g| g.met != Some(false)))
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

/// One line per target: its median round (by req/s, or by p99 in open loop).
fn write_chart(out: &Path, name: &str, title: &str, open_loop: bool, runs: &[(String, Report)]) -> anyhow::Result<()> {
    let mut series = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (target, _) in runs {
        if seen.contains(&target.as_str()) {
            continue;
        }
        seen.push(target);
        let mut mine: Vec<&Report> = runs.iter().filter(|(t, _)| t == target).map(|(_, r)| r).collect();
        if open_loop {
            mine.sort_by_key(|r| r.total.latency_us.p99_us);
        } else {
            mine.sort_by(|a, b| a.total.rps.total_cmp(&b.total.rps));
        }
        if let Some(report) = mine.get(mine.len() / 2) {
            series.push(Series {
                label: format!(
                    "{target} (median round: {} req/s, p99 {})",
                    thousands(report.total.rps),
                    micros(report.total.latency_us.p99_us)
                ),
                points: report.total.spectrum.clone(),
            });
        }
    }
    std::fs::write(out.join(format!("{name}.svg")), chart::svg(title, &series))?;
    Ok(())
}

fn parse_embedded(text: &str, name: &str) -> anyhow::Result<ScenarioSet> {
    ScenarioSet::parse(
        text,
        name,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").as_path(),
    )
}

/// Seconds since the epoch, as a folder name.
fn chrono_free_stamp() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string()
}
