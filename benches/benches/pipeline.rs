//! What running a pipeline costs beyond its plugin calls: an in-memory
//! pipeline of five `echo` steps, run through the application layer
//! (`Pipelines::execute`), against five calls of the same `echo` without it.
//!
//! - "pipeline": `Pipelines::execute` on the memory stores with the
//!   in-process bus: load the pipeline, check it may run, call each step
//!   through the host (the output of one the input of the next), time each
//!   step, publish the events, record the execution;
//! - "pipeline, events filtered": the same, with the events passed through
//!   `WantedOnly` (no subscription wants them), as the gateway composes it;
//! - "abi x5": five direct ABI calls (`acquire` once, `call_with` five
//!   times): the plugin work itself, the baseline;
//! - "host x5": five `call_here` calls, each output copied into `Bytes` and
//!   handed to the next, as the host's inline path does.
//!
//! The difference "pipeline" − "abi x5" is the pipeline machinery, whose
//! target is under 2 µs for the five steps. Criterion reports each on its
//! own; the summary at the end measures the four interleaved, in many short
//! runs, and prints medians, percentiles, the difference and the ratios.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use flexcore_gateway::events::subscriptions::{MemorySubscriptions, SubscriptionIndex};
use flexcore_gateway::events::{EventPublisher, InProcessBus, WantedOnly};
use flexcore_gateway::host::{HostSettings, Input, PluginHost};
use flexcore_gateway::pipelines::service::{CreatePipeline, ExecutePipeline};
use flexcore_gateway::pipelines::store::memory::{MemoryExecutions, MemoryPipelines};
use flexcore_gateway::pipelines::{Pipeline, Pipelines, Step};
use http::HeaderValue;
use tokio::runtime::Runtime;

const STEPS: usize = 5;
const BODY: &[u8; 64] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The machinery's budget for the whole five-step run.
const TARGET: Duration = Duration::from_micros(2);

struct Fixture {
    runtime: Runtime,
    host: Arc<PluginHost>,
    /// Publishing to a bare [`InProcessBus`].
    bus: Run,
    /// Publishing as the gateway composes it: only events some subscription
    /// wants (none here) go on.
    filtered: Run,
}

/// A five-step pipeline in its own memory stores.
struct Run {
    pipelines: Pipelines,
    pipeline: Pipeline,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let settings = HostSettings {
        plugin_dir: std::env::temp_dir(),
        scratch_dir: std::env::temp_dir(),
        plugin_config: Default::default(),
        invoke_timeout: Duration::from_secs(30),
        slow_call_threshold: Duration::from_secs(1),
    };
    let host = Arc::new(PluginHost::new(settings, Default::default()));
    runtime
        .block_on(host.load_linked(echo::flexcore_plugin_entry_v1, "linked:echo"))
        .expect("echo loads");
    let bus: Arc<dyn EventPublisher> = Arc::new(InProcessBus::default());
    let index = SubscriptionIndex::new(Arc::new(MemorySubscriptions::default()));
    let filtered = Arc::new(WantedOnly::new(Arc::clone(&bus), Arc::new(index)));
    Fixture {
        bus: Run::new(&runtime, &host, bus),
        filtered: Run::new(&runtime, &host, filtered),
        runtime,
        host,
    }
}

impl Run {
    fn new(runtime: &Runtime, host: &Arc<PluginHost>, events: Arc<dyn EventPublisher>) -> Self {
        let pipelines = Pipelines::new(
            Arc::new(MemoryPipelines::default()),
            Arc::new(MemoryExecutions::default()),
            Arc::clone(host),
            events,
            "bench".into(),
        );
        let step = Step {
            plugin: "echo".into(),
            config: None,
        };
        let pipeline = runtime
            .block_on(pipelines.create(CreatePipeline {
                name: "five echoes".into(),
                description: String::new(),
                steps: vec![step; STEPS],
            }))
            .expect("the pipeline is created");
        Self { pipelines, pipeline }
    }

    /// Runs the pipeline `iters` times; the time they took.
    fn execute(&self, runtime: &Runtime, iters: u64) -> Duration {
        let body = Bytes::from_static(BODY);
        runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..iters {
                let executed = self
                    .pipelines
                    .execute(ExecutePipeline {
                        pipeline_id: self.pipeline.id,
                        body: body.clone(),
                        content_type: Some(HeaderValue::from_static("text/plain")),
                        request_id: HeaderValue::from_static("bench"),
                    })
                    .await
                    .expect("the pipeline runs");
                black_box(executed.output.body.len());
            }
            started.elapsed()
        })
    }
}

impl Fixture {
    fn pipeline(&self, iters: u64) -> Duration {
        self.bus.execute(&self.runtime, iters)
    }

    fn pipeline_filtered(&self, iters: u64) -> Duration {
        self.filtered.execute(&self.runtime, iters)
    }

    /// Five direct ABI calls of echo, `iters` times.
    fn abi_x5(&self, iters: u64) -> Duration {
        let input = input(BODY);
        let call = self.host.acquire("echo").expect("echo is loaded");
        let started = Instant::now();
        for _ in 0..iters {
            for _ in 0..STEPS {
                black_box(call.call_with(black_box(&input), <[u8]>::len).expect("echo answers"));
            }
        }
        started.elapsed()
    }

    /// Five chained host calls of echo, `iters` times.
    fn host_x5(&self, iters: u64) -> Duration {
        let started = Instant::now();
        for _ in 0..iters {
            let mut body = Bytes::from_static(BODY);
            for _ in 0..STEPS {
                body = self
                    .host
                    .call_here("echo", black_box(&input(&body)))
                    .expect("echo answers")
                    .body;
            }
            black_box(body.len());
        }
        started.elapsed()
    }
}

fn input(body: &[u8]) -> Input<'_> {
    Input {
        body,
        content_type: b"text/plain",
        request_id: b"bench",
        deadline_unix_ms: 0,
        config: b"",
    }
}

type Variant = (&'static str, fn(&Fixture, u64) -> Duration);

const VARIANTS: [Variant; 4] = [
    ("pipeline", Fixture::pipeline),
    ("pipeline, events filtered", Fixture::pipeline_filtered),
    ("abi x5", Fixture::abi_x5),
    ("host x5", Fixture::host_x5),
];

fn pipeline_vs_calls(c: &mut Criterion) {
    let fixture = fixture();
    let mut group = c.benchmark_group("pipeline of 5 echo, 64 B");
    for (name, run) in VARIANTS {
        group.bench_function(name, |b| b.iter_custom(|iters| run(&fixture, iters)));
    }
    group.finish();
}

/// Medians and percentiles over runs that interleave the variants, and the
/// machinery: each pipeline minus the five ABI calls of the same run.
fn summary(_: &mut Criterion) {
    // `cargo bench` passes --bench; `cargo test --benches` only checks that it runs.
    let full = std::env::args().any(|a| a == "--bench");
    // Many short runs (about a millisecond each), so that a run the
    // scheduler interrupts moves a percentile, not the median.
    let (runs, iters) = if full { (501, 200) } else { (3, 10) };
    let fixture = fixture();
    for (_, run) in VARIANTS {
        run(&fixture, 50 * iters); // warm up, and fill the execution stores
    }
    let mut samples: [Vec<f64>; VARIANTS.len()] = Default::default();
    for _ in 0..runs {
        for ((_, run), samples) in VARIANTS.iter().zip(&mut samples) {
            samples.push(run(&fixture, iters).as_nanos() as f64 / iters as f64);
        }
    }
    println!("\nsummary: {runs} interleaved runs of {iters} iterations, ns per 5-step run");
    for ((name, _), samples) in VARIANTS.iter().zip(&samples) {
        let (median, p10, p90) = percentiles(samples.clone());
        println!("  {name:<26} median {median:>7.0}   p10 {p10:>7.0}   p90 {p90:>7.0}");
    }
    let (abi, host) = (percentiles(samples[2].clone()).0, percentiles(samples[3].clone()).0);
    for (which, name) in [(0, "pipeline"), (1, "pipeline, events filtered")] {
        let pipeline = percentiles(samples[which].clone()).0;
        let paired = samples[which].iter().zip(&samples[2]).map(|(p, a)| p - a).collect();
        let (machinery, low, high) = percentiles(paired);
        let verdict = if machinery < TARGET.as_nanos() as f64 {
            "within"
        } else {
            "OVER"
        };
        println!(
            "  {name}: machinery (minus abi x5, run by run) median {machinery:.0} ns, p10 {low:.0}, \
             p90 {high:.0}: {verdict} the {} ns target; {:.2}x abi x5, {:.2}x host x5",
            TARGET.as_nanos(),
            pipeline / abi,
            pipeline / host,
        );
    }
    println!();
}

/// Median, 10th and 90th percentile.
fn percentiles(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.1), at(0.9))
}

criterion_group!(benches, pipeline_vs_calls, summary);
criterion_main!(benches);
