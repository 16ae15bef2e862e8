//! Calls [`data_processor::process`] on the bench's JSON document a given
//! number of times, for instruction counts that do not drift with the load of
//! the machine:
//!
//! ```sh
//! cargo build --release -p data-processor --example drive
//! valgrind --tool=callgrind target/release/examples/drive 1024 1
//! valgrind --tool=callgrind target/release/examples/drive 1024 101
//! ```
//!
//! The difference between the two totals, divided by 100, is the cost of one
//! call (start-up and the document's construction cancel out).

use std::hint::black_box;

use flexcore_abi::RequestBuf;

// The very bytes the criterion bench and the load scenarios send.
#[allow(dead_code)]
#[path = "../../../benches/src/fixtures.rs"]
mod fixtures;

fn main() {
    let mut args = std::env::args().skip(1).map(|arg| arg.parse::<usize>());
    let (Some(Ok(size)), Some(Ok(calls))) = (args.next(), args.next()) else {
        eprintln!("usage: drive SIZE_BYTES CALLS");
        std::process::exit(2);
    };
    let body = fixtures::json_document(size);
    let request = RequestBuf::new(&body, "application/json", "drive");
    let mut total = 0;
    for _ in 0..calls {
        match data_processor::process(black_box(&request)) {
            Ok(response) => total += black_box(response.body().len()),
            Err(error) => {
                eprintln!("{}", error.message());
                std::process::exit(1);
            }
        }
    }
    println!("{calls} calls, {total} bytes out");
}
