//! `flexcore-load compare`: the gateway next to its baselines, measured in the
//! same run, in turn (A B A B…), over several rounds; medians and ratios.
//!
//! - [`args`]: the command line ([`CompareArgs`], [`Part`]);
//! - [`targets`]: starting and stopping the servers (gateway, bare hyper,
//!   nginx, workerd; the last two only when installed);
//! - `campaign`: every part against every target, round after round;
//! - [`table`]: medians over rounds, ratios against bare hyper, the goals;
//! - `summary`: the charts, and the summary printed and written to `--out`.
//!
//! The parts, each run against every target in turn, round after round:
//! `echo` (64 B, closed loop, 64 connections: the most each can do),
//! `data-processor` (1 KiB JSON, closed loop; bare hyper echoes the same
//! bytes), and `rates` (echo 64 B, open loop at 50% and 80% of the gateway's
//! measured maximum, the same offered load for every target: p99 under a
//! realistic load); `pipeline` and `events` (the gateway alone: a 3-step
//! pipeline, and `POST /events`). The gateway's peak RSS is read at the end. Reports,
//! charts and the summary are written to `--out`.

pub mod args;
mod campaign;
mod summary;
pub mod table;
pub mod targets;

use anyhow::Context;

pub use self::args::{CompareArgs, Part};
use self::targets::{Kind, Programs, Running};
use crate::load::EXIT_THRESHOLDS_FAILED;

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

    let echo = campaign::echo_scenario()?;
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
        outcome = campaign::run(args, &running, &out) => outcome,
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

/// Seconds since the epoch, as a folder name.
fn chrono_free_stamp() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string()
}
