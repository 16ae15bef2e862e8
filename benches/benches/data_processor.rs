//! `data-processor`'s own work, called as a Rust function (no ABI, no HTTP)
//! on the JSON documents the load scenarios send: 1 KiB and 64 KiB, made by
//! `flexcore_benches::fixtures::json_document`. Parsing, transforming and
//! serialising the answer are all inside the measured call.
//!
//! - `direct`: those documents as they are. They take the plugin's one-pass
//!   scan, as most documents do.
//! - `exact_path`: the same documents with one top-level key repeated, which
//!   the scan leaves to the slower path (a tree parsed by serde_json), so that
//!   the cost of that path stays in sight too.
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
        let direct = json_document(size);
        // `{"source":…` becomes `{"version":0,"source":…`: the document's own
        // `version` later repeats the key.
        let repeated_key = [&b"{\"version\":0,"[..], &direct[1..]].concat();
        for (name, body) in [("direct", direct), ("exact_path", repeated_key)] {
            group.throughput(Throughput::Bytes(body.len() as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &body, |b, body| {
                let request = RequestBuf::new(body, "application/json", "bench");
                b.iter(|| {
                    let response = data_processor::process(black_box(&request)).expect("valid JSON");
                    black_box(response.body().len())
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, process);
criterion_main!(benches);
