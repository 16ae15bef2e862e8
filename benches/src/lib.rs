//! FlexCore's benchmarks, and the load generator that load testers run.
//!
//! Layout:
//! - `benches/` (criterion, `cargo bench -p flexcore-benches`): `abi_invoke`
//!   (one call of `echo` directly, through the C ABI and through the host),
//!   `data_processor` (the plugin's function on 1 KiB and 64 KiB of JSON) and
//!   `stack` (one request through the gateway's tower stack, no socket);
//! - [`load`]: the `flexcore-load` generator: closed and open loop over
//!   HTTP/1.1 keep-alive, scenario files, hdrhistogram percentiles,
//!   thresholds, reports and the percentile-spectrum chart;
//! - [`cli`]: the command line of `flexcore-load` (`run`, `chart`, `compare`);
//! - [`compare`]: `flexcore-load compare`, which starts the gateway and the
//!   baselines (bare hyper, nginx, workerd), runs the same scenarios against
//!   each in turn, and prints medians and ratios;
//! - [`fixtures`]: request bodies shared by the micro-benchmarks and the
//!   scenarios, so both measure the same bytes;
//! - `bin/bare-echo.rs`: the bare hyper echo server, the baseline.
#![forbid(unsafe_code)]

pub mod cli;
pub mod compare;
pub mod fixtures;
pub mod load;
