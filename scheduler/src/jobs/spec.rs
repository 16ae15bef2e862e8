//! [`JobSpec`]: a job as written in the TOML file (`[[jobs]]`) or stored in
//! the `scheduler_jobs` table (as JSON), before validation.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `[[jobs]]` entry. Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Unique, 1 to 100 characters of `[A-Za-z0-9._-]`.
    pub name: String,
    /// An interval (`"1s"`, `"5m"`), aligned on the Unix epoch so that every
    /// replica computes the same ticks. Exclusive with `cron`.
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub every: Option<Duration>,
    /// A cron pattern, 5 fields or 6 with seconds first (`"0 */5 * * * *"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The IANA time zone of `cron` (default `UTC`), e.g. `"Europe/Berlin"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub target: TargetSpec,
    #[serde(default)]
    pub retry: RetrySpec,
    #[serde(default)]
    pub overlap: Overlap,
    /// Ticks missed within this window (a replica died, the database was
    /// away) run once, marked as catch-up; older ones are dropped.
    #[serde(default = "default_catch_up", with = "humantime_serde")]
    pub catch_up: Duration,
    /// How long one attempt may take; past it the call is abandoned (a
    /// Windmill job is cancelled) and the attempt counts as timed out.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

/// Where a tick goes: exactly one of `windmill_script`, `windmill_flow`
/// (with `args`) or `function` (with `payload`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windmill_script: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windmill_flow: Option<String>,
    /// A gateway function (plugin) name, called on a live gateway node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The script's or flow's arguments (a table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// The function's request body, sent as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// How often a failed tick is tried, and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySpec {
    /// Attempts in all, the first included (1 = no retry).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
}

impl Default for RetrySpec {
    fn default() -> Self {
        Self {
            attempts: 1,
            backoff: Duration::from_secs(1),
        }
    }
}

/// What a tick does while an earlier run of the same job is unfinished
/// (looked at when the tick is claimed, `claim_ahead` before it is due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Recorded as `skipped` and not run.
    #[default]
    Skip,
    /// Runs alongside.
    Allow,
    /// Waits for the unfinished run (one tick at most waits; later ones are
    /// `skipped`).
    BufferOne,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Allow => "allow",
            Self::BufferOne => "buffer_one",
        }
    }
}

fn default_catch_up() -> Duration {
    Duration::from_secs(60)
}

fn default_timeout() -> Duration {
    Duration::from_secs(3600)
}

fn default_enabled() -> bool {
    true
}
