//! `flexcore-load`: an HTTP/1.1 load generator that load testers can trust.
//!
//! How a run flows, and the module for each part:
//! - [`scenario`]: what to send (method, path, headers, body, weight), from
//!   command-line flags or TOML scenario files;
//! - [`mix`]: the weighted [`Mix`] of the scenarios, request by request;
//! - [`client`]: the target address and one keep-alive connection on hyper's
//!   client, driven in the caller's task;
//! - [`run`]: the engine. Closed loop (N connections, each sends when its last
//!   answer arrives) or open loop (`--rate`: a pacer thread releases tickets
//!   at fixed intended times and latency is counted from those times, so a
//!   stalled server cannot hide its tail: coordinated omission is corrected);
//!   a warm-up, then a measured window;
//! - [`stats`]: hdrhistogram-based latency records, error counts by kind and
//!   the percentile summaries computed from them;
//! - [`system`]: what the machine did meanwhile: cores and affinity (do client
//!   and server share cores?), CPU used by client, server and others, and the
//!   server's peak RSS from `/proc/PID/status`;
//! - [`report`]: the [`Report`] (JSON with `--json`) and its text form;
//! - [`threshold`]: `--max-p99 1ms`-style gates that make the exit code fail;
//! - [`chart`]: the percentile-spectrum SVG of one or several reports;
//! - [`progress`]: the live line on stderr.

pub mod chart;
pub mod client;
pub mod mix;
pub mod progress;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod system;
pub mod threshold;

pub use mix::Mix;
pub use report::Report;
pub use run::{RunPlan, run};
pub use scenario::{Scenario, ScenarioSet};

/// Exit code of a run whose thresholds were not met (k6 uses 99; any
/// non-zero works for CI; this one is distinct from errors (1) and usage (2)).
pub const EXIT_THRESHOLDS_FAILED: i32 = 3;
