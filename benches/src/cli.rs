//! The command line of `flexcore-load`: `run` (one load test), `chart`
//! (several reports in one SVG) and `compare` (the gateway against the
//! baselines). The binary only builds a runtime and calls [`execute`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compare::CompareArgs;
use crate::load::chart::{self, Series};
use crate::load::client::{self, Target};
use crate::load::scenario::{BodySource, Scenario, ScenarioSet, parse_header, parse_size};
use crate::load::threshold::{Thresholds, parse_duration, parse_rate};
use crate::load::{EXIT_THRESHOLDS_FAILED, Mix, Report, RunPlan};

#[derive(Debug, Parser)]
#[command(
    name = "flexcore-load",
    version,
    about = "HTTP/1.1 load generator for FlexCore: closed and open loop, percentiles, baselines"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load one target and report throughput, latency percentiles and errors.
    Run(Box<RunArgs>),
    /// Draw the percentile spectra of several `--json` reports in one SVG.
    Chart(ChartArgs),
    /// Start the gateway and the baselines, run the same scenarios against
    /// each in turn (A B A B…), and print medians and ratios.
    Compare(CompareArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// On a terminal, for runs of 3 s or more.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Target URL, e.g. http://127.0.0.1:8080/plugins/echo/execute. With
    /// --scenario, only its host and port are used.
    pub url: String,
    /// Request method (default: POST with a body, else GET).
    #[arg(short = 'X', long)]
    pub method: Option<String>,
    /// A request header, `name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body, as text.
    #[arg(long, group = "payload")]
    pub body: Option<String>,
    /// The request body, from a file.
    #[arg(long, group = "payload", value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// A body of this many filler bytes (64, 4KiB, 1MiB).
    #[arg(long, group = "payload", value_name = "SIZE", value_parser = size)]
    pub body_size: Option<u64>,
    /// A generated JSON document of about this size (1KiB, 64KiB).
    #[arg(long, group = "payload", value_name = "SIZE", value_parser = size)]
    pub json_size: Option<u64>,
    /// Scenario file(s) (TOML; see benches/scenarios/); their scenarios are
    /// mixed by weight. Replaces the request flags above.
    #[arg(short = 's', long = "scenario", value_name = "FILE")]
    pub scenarios: Vec<PathBuf>,
    /// Concurrent HTTP/1.1 keep-alive connections.
    #[arg(short = 'c', long, default_value_t = 64)]
    pub connections: usize,
    /// Open loop: this many requests per second, latency counted from each
    /// request's due time. Without it: closed loop, as fast as answers come.
    #[arg(short = 'r', long)]
    pub rate: Option<f64>,
    /// Length of the measured window.
    #[arg(short = 'd', long, default_value = "10s", value_parser = duration)]
    pub duration: Duration,
    /// Warm-up before the window (sent, not recorded).
    #[arg(short = 'w', long, default_value = "2s", value_parser = duration)]
    pub warmup: Duration,
    /// Longest wait for one answer; past it the request is a timeout error.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub timeout: Duration,
    /// Client threads (1 leaves the most CPU to a server on the same cores).
    #[arg(short = 't', long, default_value_t = 1)]
    pub threads: usize,
    /// The server's process id: its CPU use, core affinity and peak RSS
    /// (VmHWM) are reported.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Name of this run in charts and tables.
    #[arg(long)]
    pub label: Option<String>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to FILE (for `chart` and later comparison).
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Write this run's percentile spectrum as an SVG chart.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// The live progress line on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: Progress,
    /// Fail (exit 3) above this error rate: 0.01 or 1%.
    #[arg(long, value_parser = rate_fraction, value_name = "RATE")]
    pub max_error_rate: Option<f64>,
    /// Fail (exit 3) above this median latency (e.g. 500us).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub max_p50: Option<Duration>,
    /// Fail (exit 3) above this p90 latency.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub max_p90: Option<Duration>,
    /// Fail (exit 3) above this p99 latency (e.g. 1ms).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub max_p99: Option<Duration>,
    /// Fail (exit 3) above this p99.9 latency.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub max_p999: Option<Duration>,
    /// Fail (exit 3) if any answer took longer than this.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub max_latency: Option<Duration>,
    /// Fail (exit 3) below this many requests per second.
    #[arg(long, value_name = "RPS")]
    pub min_rps: Option<f64>,
    /// Fail (exit 3) if the server's peak RSS passes SIZE (needs --server-pid).
    #[arg(long, value_parser = size, value_name = "SIZE")]
    pub max_rss: Option<u64>,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(Debug, Args)]
pub struct ChartArgs {
    /// JSON reports written by `run --json-out` (or `--json`).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The SVG to write.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
    /// The chart's title.
    #[arg(long, default_value = "Latency by percentile")]
    pub title: String,
}

fn duration(raw: &str) -> Result<Duration, String> {
    parse_duration(raw).map_err(|e| format!("{e:#}"))
}

fn size(raw: &str) -> Result<u64, String> {
    parse_size(raw).map_err(|e| format!("{e:#}"))
}

fn rate_fraction(raw: &str) -> Result<f64, String> {
    parse_rate(raw).map_err(|e| format!("{e:#}"))
}

impl RunArgs {
    fn thresholds(&self) -> Thresholds {
        Thresholds {
            max_error_rate: self.max_error_rate,
            max_p50: self.max_p50,
            max_p90: self.max_p90,
            max_p99: self.max_p99,
            max_p999: self.max_p999,
            max_latency: self.max_latency,
            min_rps: self.min_rps,
            max_rss: self.max_rss,
        }
    }

    /// The scenarios from files, or the one the flags describe.
    fn scenario_set(&self, url_path: Option<String>) -> anyhow::Result<ScenarioSet> {
        let flags_given = self.method.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
            || self.body_file.is_some()
            || self.body_size.is_some()
            || self.json_size.is_some();
        if !self.scenarios.is_empty() {
            anyhow::ensure!(
                !flags_given,
                "--scenario files describe the requests: drop -X, -H and the body flags"
            );
            let mut set = ScenarioSet::default();
            for file in &self.scenarios {
                set.extend(ScenarioSet::load(file)?);
            }
            return Ok(set);
        }
        let path = url_path.unwrap_or_else(|| "/".into());
        let body = if let Some(text) = &self.body {
            BodySource::Text(text.clone())
        } else if let Some(file) = &self.body_file {
            BodySource::File(file.clone())
        } else if let Some(n) = self.body_size {
            BodySource::Filler(n as usize)
        } else if let Some(n) = self.json_size {
            BodySource::Json(n as usize)
        } else {
            BodySource::Empty
        };
        let headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = self.label.clone().unwrap_or_else(|| path.clone());
        Ok(ScenarioSet {
            setup: Vec::new(),
            scenarios: vec![Scenario::new(&name, self.method.as_deref(), &path, &headers, &body, 1)?],
        })
    }

    fn progress(&self) -> bool {
        match self.progress {
            Progress::Always => true,
            Progress::Never => false,
            Progress::Auto => std::io::stderr().is_terminal() && self.duration + self.warmup >= Duration::from_secs(3),
        }
    }
}

/// Runs one load test; returns the process exit code.
pub async fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let (target, url_path) = Target::resolve(&args.url, args.allow_remote).await?;
    let mut set = args.scenario_set(url_path)?;
    client::run_setup(&target, &mut set, args.timeout).await?;
    let mix = Mix::new(set.scenarios)?;
    let plan = RunPlan {
        target,
        mix,
        connections: args.connections,
        rate: args.rate,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        progress: args.progress(),
        server_pid: args.server_pid,
    };
    let mut report = Report::measure(&plan, args.label.as_deref(), args.threads).await?;
    report.thresholds = args.thresholds().check(&report);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    if let Some(file) = &args.json_out {
        std::fs::write(file, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    if let Some(file) = &args.svg {
        let title = format!("{} — {}", report.label, mode_title(&report));
        let series = [Series {
            label: report.label.clone(),
            points: report.total.spectrum.clone(),
        }];
        std::fs::write(file, chart::svg(&title, &series)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(if report.passed() { 0 } else { EXIT_THRESHOLDS_FAILED })
}

fn mode_title(report: &Report) -> String {
    let s = &report.setup;
    match s.rate {
        Some(rate) => format!("open loop {rate:.0} req/s, {} connections", s.connections),
        None => format!("closed loop, {} connections", s.connections),
    }
}

/// Draws several reports in one chart.
pub fn chart(args: &ChartArgs) -> anyhow::Result<()> {
    let mut series = Vec::new();
    for file in &args.reports {
        let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let report: Report = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a flexcore-load JSON report", file.display()))?;
        let mut label = format!("{} ({})", report.label, mode_title(&report));
        if series.iter().any(|s: &Series| s.label == label) {
            label = format!("{label} [{}]", file.display());
        }
        series.push(Series {
            label,
            points: report.total.spectrum,
        });
    }
    std::fs::write(&args.output, chart::svg(&args.title, &series)?)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// What `main` does with the parsed command line; returns the exit code.
pub async fn execute(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run(&args).await,
        Command::Chart(args) => chart(&args).map(|()| 0),
        Command::Compare(args) => crate::compare::run(&args).await,
    }
}

impl Cli {
    /// Client threads the runtime should have.
    pub fn threads(&self) -> usize {
        match &self.command {
            Command::Run(args) => args.threads.max(1),
            Command::Compare(args) => args.threads.max(1),
            Command::Chart(_) => 1,
        }
    }
}
