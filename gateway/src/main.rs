//! `flexcore-gateway`: load the configuration, bind, serve until SIGTERM or
//! SIGINT, then drain.

use anyhow::Context;
use clap::Parser;
use flexcore_gateway::config::Cli;
use flexcore_gateway::{FlexCoreConfig, Gateway};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = FlexCoreConfig::load(&cli)?;
    flexcore_infra::telemetry::init(&config.log.level, config.log.format);
    let grace = config.shutdown_grace;

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(config));
    // A plugin call stuck on the blocking pool must not keep the process
    // alive past the grace period the operator configured.
    runtime.shutdown_timeout(grace);
    result
}

async fn serve(config: FlexCoreConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let gateway = Gateway::build(config, listener).await?;
    let addr = gateway.local_addr()?;
    tracing::info!(%addr, "listening; try: curl -s -X POST http://{addr}/plugins/echo/execute -d 'hello'");
    gateway.run(flexcore_infra::signals::terminated()).await?;
    Ok(())
}
