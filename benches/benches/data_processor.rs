//! `data-processor`'s own work, called as a Rust function (no ABI, no HTTP)
//! on the JSON documents the load scenarios send: 1 KiB and 64 KiB, made by
//! `flexcore_benches::fixtures::json_document`. Parsing, transforming and
//! serialising the answer are all inside the measured call.
//!
//! A bench binary links one plugin crate at most (each exports the same entry
//! symbol), hence one file per plugin.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flexcore_abi::RequestBuf;
use flexcore_benches::fixtures::json_document;

fn process(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_processor");
    for size in [1024usize, 64 * 1024] {
        let body = json_document(size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("direct", size), &body, |b, body| {
            let request = RequestBuf::new(body, "application/json", "bench");
            b.iter(|| {
                let response = data_processor::process(black_box(&request)).expect("valid JSON");
                black_box(response.body().len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, process);
criterion_main!(benches);
