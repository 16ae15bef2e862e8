//! One request through the gateway's whole tower stack, without a socket:
//! request id, routing, auth, body limit, handler, plugin call, response
//! headers. Next to `abi_invoke`'s "host" figure, the difference is what the
//! HTTP layer costs per request; against a load test's per-request time, the
//! rest is hyper and the kernel.
//!
//! - `GET /health`: routing and a small JSON answer, no plugin;
//! - `POST /plugins/echo/execute` with 64 B: the hot path of the load test.
//!
//! The gateway is built as in production (`Gateway::build`) on an empty
//! plugin folder, and `echo` is linked in through `Gateway::load_linked`.
//! `slow_call_threshold` is raised so that the inline call path is what is
//! measured (see the comment where it is set).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use flexcore_benches::fixtures::filler;
use flexcore_gateway::{FlexCoreConfig, Gateway};
use http::{Method, Request, header};
use http_body_util::Full;
use tower::{Service, ServiceExt};

fn gateway(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> Gateway {
    runtime.block_on(async {
        let config = FlexCoreConfig {
            plugin_dir: dir.to_path_buf(),
            node_id: "bench".into(),
            // The host moves a plugin to the blocking pool for good after one
            // call slower than this; on a busy machine a preempted call of
            // `echo` passes 10 ms, and every later iteration would measure
            // the blocking pool instead of the inline path.
            slow_call_threshold: std::time::Duration::from_secs(60),
            ..FlexCoreConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let gateway = Gateway::build(config, listener).await.expect("gateway builds");
        gateway
            .load_linked(echo::flexcore_plugin_entry_v1, "linked:echo")
            .await
            .expect("echo loads");
        gateway
    })
}

fn stack(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let gateway = gateway(&runtime, dir.path());
    let service = gateway.service();
    let body = Bytes::from(filler(64));

    let mut group = c.benchmark_group("stack");
    group.bench_function("GET /health", |b| {
        b.to_async(&runtime).iter(|| {
            let mut service = service.clone();
            async move {
                let request = Request::get("/health").body(Full::new(Bytes::new())).expect("request");
                let response = ServiceExt::<Request<Full<Bytes>>>::ready(&mut service)
                    .await
                    .expect("ready")
                    .call(request)
                    .await;
                black_box(response.expect("infallible").status())
            }
        });
    });
    group.bench_function("POST /plugins/echo/execute 64 B", |b| {
        b.to_async(&runtime).iter(|| {
            let mut service = service.clone();
            let body = body.clone();
            async move {
                let request = Request::builder()
                    .method(Method::POST)
                    .uri("/plugins/echo/execute")
                    .header(header::CONTENT_TYPE, "text/plain")
                    .header(header::CONTENT_LENGTH, "64")
                    .body(Full::new(body))
                    .expect("request");
                let response = ServiceExt::<Request<Full<Bytes>>>::ready(&mut service)
                    .await
                    .expect("ready")
                    .call(request)
                    .await;
                let response = response.expect("infallible");
                assert!(response.status().is_success());
                black_box(response)
            }
        });
    });
    group.finish();
}

criterion_group!(benches, stack);
criterion_main!(benches);
