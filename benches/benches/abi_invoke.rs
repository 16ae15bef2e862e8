//! The cost of one plugin call through the C ABI and the plugin host, next to
//! a direct Rust call of the same function, at 64 B, 4 KiB and 1 MiB.
//!
//! - "direct" calls `echo::echo` as a Rust function;
//! - "abi" calls the same code through its exported descriptor: build the C
//!   request, `invoke`, lend the response body, `free_response`. The
//!   difference from "direct" is what crossing the ABI costs;
//! - "host" is the gateway's whole inline call path around it: registry
//!   lookup, in-flight counting, and the copy of the output into `Bytes`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flexcore_abi::RequestBuf;
use flexcore_gateway::host::{HostSettings, Input, PluginHost};

fn host_with_echo() -> PluginHost {
    let settings = HostSettings {
        plugin_dir: std::env::temp_dir(),
        scratch_dir: std::env::temp_dir(),
        plugin_config: Default::default(),
        invoke_timeout: Duration::from_secs(30),
        slow_call_threshold: Duration::from_secs(1),
    };
    let host = PluginHost::new(settings, Default::default());
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime
        .block_on(host.load_linked(echo::flexcore_plugin_entry_v1, "linked:echo"))
        .expect("echo loads");
    host
}

fn echo_invoke(c: &mut Criterion) {
    let host = host_with_echo();
    let mut group = c.benchmark_group("echo");
    for size in [64usize, 4 * 1024, 1024 * 1024] {
        let body = vec![b'x'; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("direct", size), &body, |b, body| {
            let request = RequestBuf::new(body, "text/plain", "bench");
            b.iter(|| {
                let response = echo::echo(black_box(&request)).expect("echo answers");
                black_box(response.body().len())
            });
        });
        group.bench_with_input(BenchmarkId::new("abi", size), &body, |b, body| {
            let input = Input {
                body,
                content_type: b"text/plain",
                request_id: b"bench",
                deadline_unix_ms: 0,
                config: b"",
            };
            let call = host.acquire("echo").expect("echo is loaded");
            b.iter(|| black_box(call.call_with(black_box(&input), <[u8]>::len).expect("echo answers")));
        });
        group.bench_with_input(BenchmarkId::new("host", size), &body, |b, body| {
            let input = Input {
                body,
                content_type: b"text/plain",
                request_id: b"bench",
                deadline_unix_ms: 0,
                config: b"",
            };
            b.iter(|| {
                let output = host.call_here("echo", black_box(&input)).expect("echo answers");
                black_box(output.body.len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, echo_invoke);
criterion_main!(benches);
