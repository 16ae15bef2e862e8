//! The command line of `flexcore-load compare`: which targets, in which
//! order, which [`Part`]s, how many rounds and how long each run.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

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
