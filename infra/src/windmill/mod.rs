//! A client for the part of Windmill's REST API that FlexCore uses
//! (`shared/windmill/API.md`): start scripts and flows by path under a job id
//! chosen by the caller, follow them to completion, cancel them, and create
//! the scripts and flows FlexCore needs, idempotently.
//!
//! - [`WindmillClient`]: the calls, one method each, with Bearer auth;
//! - [`types`]: what Windmill answers (`QueuedJob`/`CompletedJob`, the
//!   `get_result_maybe` answer) and what is sent to create workflows;
//! - [`WindmillError`]: why a call failed; [`WindmillError::is_transient`]
//!   tells "Windmill is down, try again" from "Windmill said no".
//!
//! Windmill answers most calls in plain text (job ids, hashes, errors), not
//! JSON; the client reads them as such. It knows nothing of FlexCore's jobs.

mod client;
mod error;
pub mod types;

pub use client::{Backoff, WindmillClient, WindmillSettings};
pub use error::WindmillError;
pub use types::{Completion, Created, Job, NewFlow, NewScript, ResultMaybe, Runnable, Submitted};
