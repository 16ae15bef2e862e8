//! `flexcore-scheduler`: run a replica (no command), or a `jobs`/`runs`
//! command against the database.

use anyhow::Context;
use clap::Parser;
use flexcore_scheduler::Scheduler;
use flexcore_scheduler::cli::{self, Cli};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.load()?;
    if let Some(command) = &cli.command {
        let out = cli::execute(&config, command, cli.json).await?;
        print!("{out}");
        return Ok(());
    }
    flexcore_infra::telemetry::init(&config.log.level, config.log.format);
    let listener = tokio::net::TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.admin_listen))?;
    let scheduler = Scheduler::build(config, listener).await?;
    let addr = scheduler.local_addr()?;
    tracing::info!(%addr, "admin port: curl -s http://{addr}/health");
    scheduler.run(flexcore_infra::signals::terminated()).await?;
    Ok(())
}
