//! The command line: `flexcore-scheduler` runs a replica; `jobs ...` and
//! `runs ...` look at and steer the jobs in the database, which every
//! replica reads.

mod output;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::Error;
use crate::config::{Overrides, SchedulerConfig};
use crate::jobs::JobStore;
use crate::lock::LockStore;
use crate::postgres::Pg;
use crate::runs::{PgRuns, RunStore};

/// The command line of `flexcore-scheduler`.
#[derive(Debug, Parser)]
#[command(
    name = "flexcore-scheduler",
    version,
    about = "FlexCore scheduler: singleton timers and Windmill workflows"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// This replica's id (default: host name and process id).
    #[arg(long, value_name = "ID")]
    pub replica_id: Option<String>,
    /// Address of the admin port (/health, /metrics).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// Print JSON (one object per line) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, pause, resume or trigger jobs.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Show the latest runs of a job.
    Runs {
        /// The job's name.
        name: String,
        /// How many runs, newest first.
        #[arg(long, default_value_t = 20)]
        last: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// Every job, with its schedule, target, state, owner and last run.
    List,
    /// Stop firing a job (on every replica) until resumed.
    Pause { name: String },
    /// Fire a paused job again (the ticks of the pause are not caught up).
    Resume { name: String },
    /// Run a job now, once, fenced like any tick.
    Trigger { name: String },
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            replica_id: self.replica_id.clone(),
            admin_listen: self.admin_listen.clone(),
        }
    }

    /// Loads the configuration this command line names.
    pub fn load(&self) -> Result<SchedulerConfig, Error> {
        Ok(SchedulerConfig::load(&self.overrides())?)
    }
}

/// Runs a `jobs` or `runs` command; returns what to print.
pub async fn execute(config: &SchedulerConfig, command: &Command, json: bool) -> Result<String, Error> {
    let url = config.database_url.as_ref().ok_or(Error::NoDatabase)?;
    let pg = Arc::new(Pg::connect(url, 1, &config.replica_id).await?);
    let runs = PgRuns::new(Arc::clone(&pg));
    match command {
        Command::Jobs { action } => match action {
            JobsAction::List => list(&pg, &runs, json).await,
            JobsAction::Pause { name } => {
                pg.set_paused(name, true).await?;
                Ok(format!("paused {name}\n"))
            }
            JobsAction::Resume { name } => {
                pg.set_paused(name, false).await?;
                Ok(format!("resumed {name}\n"))
            }
            JobsAction::Trigger { name } => {
                let at = pg.request_trigger(name).await?;
                Ok(format!(
                    "triggered {name}: the replica holding it runs it shortly (scheduled_at {})\n",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                ))
            }
        },
        Command::Runs { name, last } => {
            let known = pg.list().await?.iter().any(|r| &r.name == name);
            let runs = runs.recent(name, *last).await?;
            if !known && runs.is_empty() {
                return Err(Error::UnknownJob(name.clone()));
            }
            Ok(output::runs(&runs, json))
        }
    }
}

async fn list(pg: &Pg, runs: &PgRuns, json: bool) -> Result<String, Error> {
    let records = pg.list().await?;
    let keys: Vec<i64> = records.iter().map(|r| crate::jobs::Job::lock_key_of(&r.name)).collect();
    let holders = pg.holders(&keys).await?;
    let mut rows = Vec::with_capacity(records.len());
    for record in &records {
        let owner = holders
            .get(&crate::jobs::Job::lock_key_of(&record.name))
            .map(|h| h.clone().unwrap_or_else(|| "(unknown)".into()));
        let last = runs.recent(&record.name, 1).await?.into_iter().next();
        rows.push(output::JobRow {
            record,
            state: record.to_state().ok(),
            owner,
            last,
        });
    }
    Ok(output::jobs(&rows, json))
}
