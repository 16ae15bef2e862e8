//! FlexCore's benchmarks.
//!
//! - `benches/abi_invoke.rs` (criterion): one call of `echo` through the C ABI
//!   and the plugin host, next to a direct Rust call of the same function.
//! - `bare-echo` (binary): a bare hyper server that echoes its body, the
//!   baseline the gateway's HTTP path is compared with under the same load.
#![forbid(unsafe_code)]
