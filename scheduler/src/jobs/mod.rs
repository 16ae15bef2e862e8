//! Jobs: what fires, when, where, and how failures and overlaps are handled.
//!
//! - [`spec`]: [`JobSpec`], a job as written (TOML `[[jobs]]` or the JSON
//!   `spec` column), and the policies it names;
//! - [`schedule`]: [`Schedule`], interval and cron arithmetic;
//! - [`Job`]: a validated job, the form the rest of the scheduler uses;
//! - [`store`]: [`JobStore`], where jobs are kept (the file's jobs are synced
//!   into it), with an in-memory and a PostgreSQL implementation;
//! - [`refresh`]: the [`JobSet`] each replica follows, re-read from the store.

mod memory;
mod postgres;
pub mod refresh;
pub mod schedule;
pub mod spec;
pub mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use schedule::Schedule;
pub use spec::{JobSpec, Overlap, RetrySpec, TargetSpec};
pub use store::{JobRecord, JobStore};

/// A validated job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub schedule: Schedule,
    pub target: Target,
    pub retry: RetrySpec,
    pub overlap: Overlap,
    pub catch_up: Duration,
    pub timeout: Duration,
    pub enabled: bool,
    /// The spec it was made from (what the database stores).
    pub spec: JobSpec,
}

/// Where a tick goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Call a gateway function with a JSON body.
    Function { name: String, payload: Value },
    /// Start a Windmill script by path.
    WindmillScript { path: String, args: Value },
    /// Start a Windmill flow by path.
    WindmillFlow { path: String, args: Value },
}

impl Target {
    /// A short form for the runs table and logs: `function:echo`,
    /// `windmill_script:f/flexcore/report`.
    pub fn describe(&self) -> String {
        match self {
            Self::Function { name, .. } => format!("function:{name}"),
            Self::WindmillScript { path, .. } => format!("windmill_script:{path}"),
            Self::WindmillFlow { path, .. } => format!("windmill_flow:{path}"),
        }
    }

    pub fn is_windmill(&self) -> bool {
        !matches!(self, Self::Function { .. })
    }
}

/// Most attempts a retry policy may ask for.
pub const MAX_ATTEMPTS: u32 = 100;

impl Job {
    /// Validates `spec`. The error is `(key, message)`, the key relative to
    /// the job (`every`, `target.function`, ...).
    pub fn from_spec(spec: JobSpec) -> Result<Self, (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        let name_ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if spec.name.is_empty() || spec.name.len() > 100 || !spec.name.chars().all(name_ok) {
            return err("name", "1 to 100 characters of [A-Za-z0-9._-]".into());
        }
        let schedule = match (&spec.every, &spec.cron) {
            (Some(every), None) => {
                if spec.timezone.is_some() {
                    return err("timezone", "applies to `cron` only".into());
                }
                Schedule::every(*every).map_err(|m| ("every".to_owned(), m))?
            }
            (None, Some(cron)) => {
                Schedule::cron(cron, spec.timezone.as_deref()).map_err(|(key, m)| (key.to_owned(), m))?
            }
            _ => return err("every", "set exactly one of `every` and `cron`".into()),
        };
        let target = target_of(&spec.target).map_err(|(k, m)| (format!("target.{k}"), m))?;
        if spec.retry.attempts == 0 || spec.retry.attempts > MAX_ATTEMPTS {
            return err("retry.attempts", format!("must be 1 to {MAX_ATTEMPTS}"));
        }
        if spec.timeout.is_zero() {
            return err("timeout", "must be more than 0".into());
        }
        Ok(Self {
            name: spec.name.clone(),
            schedule,
            target,
            retry: spec.retry,
            overlap: spec.overlap,
            catch_up: spec.catch_up,
            timeout: spec.timeout,
            enabled: spec.enabled,
            spec,
        })
    }

    /// The wait before attempt `next` (2, 3, ...): the backoff, doubled for
    /// each attempt after the second, at most an hour.
    pub fn backoff_before(&self, next: u32) -> Duration {
        let doublings = next.saturating_sub(2).min(20);
        self.retry
            .backoff
            .saturating_mul(1 << doublings)
            .min(Duration::from_secs(3600))
    }

    /// The advisory lock key of this job (FNV-1a 64 of its name).
    pub fn lock_key(&self) -> i64 {
        Self::lock_key_of(&self.name)
    }

    /// The advisory lock key of the job named `name`.
    pub fn lock_key_of(name: &str) -> i64 {
        flexcore_infra::postgres::lock_key(&lock_name(name))
    }
}

/// The name the lock key of job `name` is hashed from (namespaced, so that a
/// job cannot collide with another lock of the project, such as migrations).
pub fn lock_name(job: &str) -> String {
    format!("flexcore-scheduler/job/{job}")
}

fn target_of(t: &TargetSpec) -> Result<Target, (String, String)> {
    let err = |k: &str, m: &str| Err((k.to_owned(), m.to_owned()));
    let object = |v: &Option<Value>, key: &str| match v {
        None => Ok(Value::Object(Default::default())),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err((key.to_owned(), "must be a table".to_owned())),
    };
    let path_ok = |p: &str| {
        (p.starts_with("f/") || p.starts_with("u/")) && p.split('/').count() >= 3 && p.split('/').all(|s| !s.is_empty())
    };
    match (&t.windmill_script, &t.windmill_flow, &t.function) {
        (Some(path), None, None) | (None, Some(path), None) => {
            if t.payload.is_some() {
                return err("payload", "applies to `function` targets; use `args`");
            }
            if !path_ok(path) {
                return err(
                    if t.windmill_script.is_some() {
                        "windmill_script"
                    } else {
                        "windmill_flow"
                    },
                    "a Windmill path such as f/folder/name or u/user/name",
                );
            }
            let args = object(&t.args, "args")?;
            Ok(if t.windmill_script.is_some() {
                Target::WindmillScript {
                    path: path.clone(),
                    args,
                }
            } else {
                Target::WindmillFlow {
                    path: path.clone(),
                    args,
                }
            })
        }
        (None, None, Some(name)) => {
            if t.args.is_some() {
                return err("args", "applies to Windmill targets; use `payload`");
            }
            let name_ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
            if name.is_empty() || !name.chars().all(name_ok) {
                return err("function", "a plugin name of [A-Za-z0-9._-]");
            }
            Ok(Target::Function {
                name: name.clone(),
                payload: t.payload.clone().unwrap_or(Value::Null),
            })
        }
        _ => err(
            "windmill_script",
            "set exactly one of `windmill_script`, `windmill_flow` and `function`",
        ),
    }
}

/// A job as the store holds it: its validated definition and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub job: Job,
    pub paused: bool,
    /// When the job was created in the store: ticks before it are never
    /// caught up.
    pub created_at: DateTime<Utc>,
    /// When it was last resumed: the ticks of a pause are not caught up.
    pub resumed_at: Option<DateTime<Utc>>,
}

/// The known jobs, by name.
pub type JobSet = BTreeMap<String, JobState>;

impl JobState {
    /// Whether ticks fire (enabled and not paused).
    pub fn active(&self) -> bool {
        self.job.enabled && !self.paused
    }
}

#[cfg(test)]
mod tests;
