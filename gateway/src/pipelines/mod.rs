//! Pipelines: named chains of function calls, where the output of step n is
//! the input of step n+1.
//!
//! - [`domain`]: the `Pipeline` aggregate and its rules (no I/O);
//! - [`execution`]: the record every run leaves;
//! - [`store`]: the store ports and their in-memory and PostgreSQL
//!   implementations;
//! - [`service`]: the commands and queries every entry point uses;
//! - [`http`]: the HTTP handlers for `/pipelines`.

pub mod domain;
pub mod execution;
pub(crate) mod http;
pub mod service;
pub mod store;

pub use domain::{Pipeline, PipelineStatus, RuleViolation, Step};
pub use service::Pipelines;
