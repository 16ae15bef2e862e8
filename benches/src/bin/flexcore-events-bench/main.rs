//! `flexcore-events-bench`: how fast events travel through a FlexCore
//! cluster, end to end, on real processes.
//!
//! It starts everything itself: a private `redis-server` (AOF, fsync policy
//! from `--fsync`), a fresh PostgreSQL database (through `psql`), the
//! recorder plugin (`tests/src/recorder.c`, compiled with `cc`), and
//! `--nodes` gateway processes of the given binary; subscribes the recorder
//! to `bench.tick` and measures:
//!
//! 1. **latency**: events published at `--rate` per second for `--duration`,
//!    round robin over the nodes; latency is from the moment the publish is
//!    sent (put in the event's data as `sent_us`) to the recorder's
//!    invocation on whichever node consumed it (its clock, the same
//!    machine's); how late sends were against the schedule is reported too
//!    (the client's lag). `--runs` runs; p50/p90/p99
//!    per run and the median over runs; also for events invoked on another
//!    node than they were published to, and the `POST /events` round trip,
//!    the in-run reference the delivery latency is compared with.
//! 2. **throughput**: the other nodes stop; one node takes
//!    `--throughput-events` events as fast as `--connections` connections
//!    publish and delivers them; accepted/s, delivered/s, and end to end
//!    (events / time from the first publish to the last delivery).
//!
//! ```sh
//! cargo build --release -p flexcore-gateway
//! cargo run --release -p flexcore-benches --bin flexcore-events-bench -- --fsync everysec
//! ```
#![forbid(unsafe_code)]

mod deliveries;
mod publish;
mod setup;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use deliveries::{Latencies, Recorder, ms};
use publish::{Conn, EVENT_TYPE};
use setup::{Database, Node, NodeSettings, Redis};

#[derive(Debug, Parser)]
#[command(
    name = "flexcore-events-bench",
    about = "End-to-end event latency and throughput of a FlexCore cluster"
)]
struct Args {
    /// The gateway binary [default: <workspace>/target/release/flexcore-gateway].
    #[arg(long)]
    gateway: Option<PathBuf>,
    /// PostgreSQL server URL, without a database; a fresh one is created.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// The private Redis's `appendfsync`: always, everysec or no.
    #[arg(long, default_value = "everysec")]
    fsync: String,
    /// Gateway nodes for the latency runs.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Events per second in the latency runs.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Length of one latency run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Runs of each measurement.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Events per throughput run.
    #[arg(long, default_value_t = 100_000)]
    throughput_events: usize,
    /// Publishing connections in the throughput runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !["always", "everysec", "no"].contains(&args.fsync.as_str()) {
        bail!("--fsync must be always, everysec or no");
    }
    if args.nodes == 0 || args.runs == 0 || args.rate == 0 || args.connections == 0 {
        bail!("--nodes, --runs, --rate and --connections must be at least 1");
    }
    let gateway = args
        .gateway
        .clone()
        .unwrap_or_else(|| setup::workspace_root().join("target/release/flexcore-gateway"));
    if !gateway.is_file() {
        bail!(
            "{} is missing: cargo build --release -p flexcore-gateway",
            gateway.display()
        );
    }

    let redis = Redis::start(&args.fsync)?;
    let database = Database::create(&args.pg)?;
    let work = tempfile::tempdir()?;
    let plugins = work.path().join("plugins");
    std::fs::create_dir(&plugins)?;
    setup::compile_recorder(&plugins)?;
    let recorder_file = work.path().join("recorder.log");
    let prefix = format!("flexcore-bench-{}", std::process::id());
    let (database_url, redis_url) = (database.url(), redis.url());
    let settings = NodeSettings {
        gateway: &gateway,
        plugins: &plugins,
        work: work.path(),
        database_url: &database_url,
        redis_url: &redis_url,
        prefix: &prefix,
        recorder_file: &recorder_file,
    };
    let nodes = (1..=args.nodes)
        .map(|i| Node::start(&format!("node-{i}"), &settings))
        .collect::<anyhow::Result<Vec<_>>>()?;

    println!(
        "flexcore-events-bench: {} node(s) of {}, Redis with AOF appendfsync={}, {} CPUs",
        args.nodes,
        gateway.display(),
        args.fsync,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(bench(&args, nodes, Recorder::new(recorder_file)))
}

async fn bench(args: &Args, mut nodes: Vec<Node>, mut recorder: Recorder) -> anyhow::Result<()> {
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    subscribe(addrs[0]).await?;

    // Warm-up: connections, the consumers' first reads, page cache.
    let warm = publish::at_rate(&addrs, args.rate, args.rate as usize, 12).await?;
    recorder.wait_for(&warm, Duration::from_secs(30)).await?;

    let count = (u128::from(args.rate) * args.duration.as_millis() / 1000) as usize;
    println!(
        "\nlatency: publish sent -> recorder invoked, {} events/s for {:?} over {} node(s), {} runs",
        args.rate, args.duration, args.nodes, args.runs
    );
    println!(
        "{:>4} {:>7} {:>10} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>7} | {:>10} {:>10} | {:>10}",
        "run",
        "events",
        "p50",
        "p90",
        "p99",
        "max",
        "cross p50",
        "cross p99",
        "cross",
        "202 p50",
        "202 p99",
        "late p99"
    );
    let (mut p50s, mut p99s, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=args.runs {
        let published = publish::at_rate(&addrs, args.rate, count, 12).await?;
        recorder.wait_for(&published, Duration::from_secs(60)).await?;
        let l = Latencies::of(&published, &recorder, &ids)?;
        println!(
            "{run:>4} {:>7} {:>10} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>7} | {:>10} {:>10} | {:>10}",
            l.delivery.len(),
            ms(l.delivery.value_at_quantile(0.5)),
            ms(l.delivery.value_at_quantile(0.9)),
            ms(l.delivery.value_at_quantile(0.99)),
            ms(l.delivery.max()),
            ms(l.cross_node.value_at_quantile(0.5)),
            ms(l.cross_node.value_at_quantile(0.99)),
            l.cross_node.len(),
            ms(l.publish.value_at_quantile(0.5)),
            ms(l.publish.value_at_quantile(0.99)),
            ms(l.late.value_at_quantile(0.99)),
        );
        p50s.push(l.delivery.value_at_quantile(0.5));
        p99s.push(l.delivery.value_at_quantile(0.99));
        ratios.push(l.delivery.value_at_quantile(0.5) as f64 / l.publish.value_at_quantile(0.5).max(1) as f64);
    }
    println!(
        "median of runs: p50 {}, p99 {} (target p99 < 10 ms: {}); delivery p50 / POST /events p50 = {:.2}x",
        ms(median(&mut p50s)),
        ms(median(&mut p99s)),
        if median(&mut p99s) < 10_000 { "met" } else { "NOT met" },
        median_f(&mut ratios),
    );

    // Throughput: one node publishes to itself and delivers.
    for node in nodes.drain(1..) {
        node.stop()?;
    }
    println!(
        "\nthroughput: one node, {} events published as fast as {} connections allow, {} runs",
        args.throughput_events, args.connections, args.runs
    );
    println!(
        "{:>4} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "run", "accepted/s", "delivered/s", "end-to-end/s", "202 p50", "202 p99"
    );
    let mut rates = Vec::new();
    for run in 1..=args.runs {
        let calls_before = recorder.calls;
        let published = publish::as_fast(addrs[0], args.throughput_events, args.connections).await?;
        recorder.wait_for(&published, Duration::from_secs(120)).await?;
        let first_sent = published.iter().map(|p| p.sent_us).min().unwrap_or(0);
        let last_sent = published.iter().map(|p| p.sent_us + p.round_trip_us).max().unwrap_or(0);
        let delivered: Vec<u64> = published
            .iter()
            .filter_map(|p| recorder.first.get(&p.id).map(|d| d.received_us))
            .collect();
        let first_delivered = delivered.iter().copied().min().unwrap_or(0);
        let last_delivered = delivered.iter().copied().max().unwrap_or(0);
        let per_s = |n: usize, us: u64| n as f64 * 1e6 / us.max(1) as f64;
        let l = Latencies::of(&published, &recorder, &[])?;
        let end_to_end = per_s(published.len(), last_delivered.saturating_sub(first_sent));
        println!(
            "{run:>4} {:>12.0} {:>12.0} {:>12.0} {:>10} {:>10}",
            per_s(published.len(), last_sent.saturating_sub(first_sent)),
            per_s(delivered.len(), last_delivered.saturating_sub(first_delivered)),
            end_to_end,
            ms(l.publish.value_at_quantile(0.5)),
            ms(l.publish.value_at_quantile(0.99)),
        );
        if recorder.calls - calls_before > published.len() {
            println!(
                "      ({} duplicate invocations)",
                recorder.calls - calls_before - published.len()
            );
        }
        rates.push(end_to_end);
    }
    let rate = median_f(&mut rates);
    println!(
        "median end-to-end: {rate:.0} events/s on one node (target >= 10000: {})",
        if rate >= 10_000.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

/// Subscribes the recorder to the bench's events and waits for every node's
/// subscription index (refreshed every second) to have it.
async fn subscribe(node: SocketAddr) -> anyhow::Result<()> {
    let mut conn = Conn::connect(node).await?;
    let body = format!(r#"{{"event_type":"{EVENT_TYPE}","target":{{"plugin":"recorder"}}}}"#);
    let (status, answer) = conn
        .send("POST", "/subscriptions", Bytes::from(body))
        .await
        .context("POST /subscriptions")?;
    if status != 201 {
        bail!("POST /subscriptions: {status} {}", String::from_utf8_lossy(&answer));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Ok(())
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

fn median_f(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
