//! The scheduler's typed configuration, [`SchedulerConfig`]: defaults that
//! run on one machine with nothing else installed (in-memory stores, one
//! replica), then a TOML file (`--config`), then `FLEXCORE_*` variables, then
//! flags. Unknown keys and bad values are refused, naming the key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use flexcore_infra::config::EnvKind;
pub use flexcore_infra::telemetry::LogConfig;
use flexcore_infra::windmill::WindmillSettings;
use flexcore_infra::{ConfigError, ConfigLoader, Secret};
use serde::Deserialize;

use crate::jobs::{Job, JobSpec};

/// Everything the scheduler can be told. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// This replica's id. Default: host name and process id.
    pub replica_id: String,
    /// PostgreSQL (`postgres://user@host/db`). Without it the scheduler runs
    /// alone, with its history in memory.
    pub database_url: Option<Secret>,
    /// Pooled connections (the lock connection is one more).
    pub database_pool_size: usize,
    /// Where `/health` and `/metrics` are served.
    pub admin_listen: SocketAddr,
    /// How often a replica heartbeats and rebalances its locks.
    #[serde(with = "humantime_serde")]
    pub lock_interval: Duration,
    /// A replica whose heartbeat is older is not live.
    #[serde(with = "humantime_serde")]
    pub replica_ttl: Duration,
    /// A job is handed to its preferred replica only once that one has been
    /// connected this long.
    #[serde(with = "humantime_serde")]
    pub handover_grace: Duration,
    /// How long before its due time a tick is claimed; its run then starts
    /// on time, without waiting for the claim's round trip and commit.
    #[serde(with = "humantime_serde")]
    pub claim_ahead: Duration,
    /// How often jobs (and pause state) are read again from the store.
    #[serde(with = "humantime_serde")]
    pub jobs_refresh: Duration,
    /// Finished runs older than this are deleted.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long a stopping replica waits for its runs in flight.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Windmill, for `windmill_script` and `windmill_flow` targets.
    pub windmill: Option<WindmillConfig>,
    /// Gateway nodes, for `function` targets.
    pub gateway: GatewayConfig,
    /// Redis holding the gateway's cluster membership; when set, function
    /// calls go to the live nodes found there instead of `gateway.nodes`.
    pub redis_url: Option<Secret>,
    /// Key prefix of the gateway's membership in Redis.
    pub redis_prefix: String,
    pub log: LogConfig,
    /// The jobs of this file.
    pub jobs: Vec<JobSpec>,
}

/// The `[windmill]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindmillConfig {
    /// The server, e.g. `http://127.0.0.1:8000` (the client adds `/api`).
    pub base_url: String,
    /// The token (or `token_file`, or FLEXCORE_WINDMILL_TOKEN).
    #[serde(default)]
    pub token: Option<Secret>,
    /// A file holding the token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default = "default_workspace")]
    pub workspace: String,
    /// Bound on each request to Windmill (not on how long jobs run).
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Create the system workflows under `f/flexcore/` when missing.
    #[serde(default = "default_true")]
    pub create_system_workflows: bool,
}

/// The `[gateway]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Base URLs of gateway nodes, used when `redis_url` is not set.
    pub nodes: Vec<String>,
    /// Bearer token for `execute` (one of the gateway's invoke tokens).
    pub token: Option<Secret>,
    /// A node whose membership heartbeat is older is dead.
    #[serde(with = "humantime_serde")]
    pub node_ttl: Duration,
}

fn default_workspace() -> String {
    "flexcore".into()
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_true() -> bool {
    true
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            token: None,
            node_ttl: Duration::from_secs(3),
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            replica_id: format!("{}-{}", flexcore_infra::host_name(), std::process::id()),
            database_url: None,
            database_pool_size: 8,
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            lock_interval: Duration::from_millis(250),
            replica_ttl: Duration::from_secs(2),
            handover_grace: Duration::from_secs(2),
            claim_ahead: Duration::from_millis(100),
            jobs_refresh: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
            shutdown_grace: Duration::from_secs(10),
            windmill: None,
            gateway: GatewayConfig::default(),
            redis_url: None,
            redis_prefix: "flexcore".into(),
            log: LogConfig::default(),
            jobs: Vec::new(),
        }
    }
}

/// The environment variables the scheduler reads, and the key each sets.
pub const ENV_VARS: &[(&str, &str, EnvKind)] = &[
    ("FLEXCORE_REPLICA_ID", "replica_id", EnvKind::Text),
    ("FLEXCORE_DATABASE_URL", "database_url", EnvKind::Text),
    ("FLEXCORE_ADMIN_LISTEN", "admin_listen", EnvKind::Text),
    ("FLEXCORE_REDIS_URL", "redis_url", EnvKind::Text),
    ("FLEXCORE_REDIS_PREFIX", "redis_prefix", EnvKind::Text),
    ("FLEXCORE_WINDMILL_TOKEN", "windmill.token", EnvKind::Text),
    ("FLEXCORE_GATEWAY_NODES", "gateway.nodes", EnvKind::List),
    ("FLEXCORE_GATEWAY_TOKEN", "gateway.token", EnvKind::Text),
    ("FLEXCORE_LOG_LEVEL", "log.level", EnvKind::Text),
    ("FLEXCORE_LOG_FORMAT", "log.format", EnvKind::Text),
];

/// Overrides from the command line.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub replica_id: Option<String>,
    pub admin_listen: Option<String>,
}

impl SchedulerConfig {
    /// Loads defaults, the file, the environment and the flags, then validates.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut loader = ConfigLoader::new().file(overrides.config.as_deref())?.env(ENV_VARS)?;
        if let Some(id) = &overrides.replica_id {
            loader = loader.set("replica_id", id.as_str());
        }
        if let Some(listen) = &overrides.admin_listen {
            loader = loader.set("admin_listen", listen.as_str());
        }
        let mut config: Self = loader.build()?;
        config.resolve_token_file()?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `windmill.token_file` into `windmill.token`.
    fn resolve_token_file(&mut self) -> Result<(), ConfigError> {
        let Some(windmill) = &mut self.windmill else {
            return Ok(());
        };
        if let (None, Some(file)) = (&windmill.token, &windmill.token_file) {
            let token = std::fs::read_to_string(file).map_err(|e| ConfigError::Invalid {
                key: "windmill.token_file".into(),
                message: format!("cannot read {}: {e}", file.display()),
            })?;
            windmill.token = Some(Secret::new(token.trim()));
        }
        Ok(())
    }

    /// Checks what types alone cannot, jobs included.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message,
            })
        };
        let id_ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if self.replica_id.is_empty() || self.replica_id.len() > 64 || !self.replica_id.chars().all(id_ok) {
            return invalid("replica_id", "1 to 64 characters of [A-Za-z0-9._-]".into());
        }
        if self.database_pool_size == 0 {
            return invalid("database_pool_size", "must be at least 1".into());
        }
        for (key, value) in [
            ("lock_interval", self.lock_interval),
            ("replica_ttl", self.replica_ttl),
            ("jobs_refresh", self.jobs_refresh),
        ] {
            if value.is_zero() {
                return invalid(key, "must be more than 0".into());
            }
        }
        if self.claim_ahead >= Duration::from_secs(1) {
            return invalid("claim_ahead", "must be under 1s (the shortest interval)".into());
        }
        if self.replica_ttl < self.lock_interval * 2 {
            return invalid("replica_ttl", "must be at least twice `lock_interval`".into());
        }
        if let Some(w) = &self.windmill {
            if !(w.base_url.starts_with("http://") || w.base_url.starts_with("https://")) {
                return invalid("windmill.base_url", "must start with http:// or https://".into());
            }
            if w.token.as_ref().is_none_or(|t| t.expose().is_empty()) {
                return invalid(
                    "windmill.token",
                    "missing: set `token`, `token_file` or FLEXCORE_WINDMILL_TOKEN".into(),
                );
            }
            if w.workspace.is_empty() {
                return invalid("windmill.workspace", "must not be empty".into());
            }
        }
        for (i, node) in self.gateway.nodes.iter().enumerate() {
            if !(node.starts_with("http://") || node.starts_with("https://")) {
                return invalid(&format!("gateway.nodes[{i}]"), "must be an http:// URL".into());
            }
        }
        self.validate_jobs()
    }

    fn validate_jobs(&self) -> Result<(), ConfigError> {
        let mut longest_catch_up = Duration::ZERO;
        for (i, spec) in self.jobs.iter().enumerate() {
            let job = Job::from_spec(spec.clone()).map_err(|(key, message)| ConfigError::Invalid {
                key: format!("jobs[{i}].{key}"),
                message,
            })?;
            if self.jobs[..i].iter().any(|other| other.name == spec.name) {
                return Err(ConfigError::Invalid {
                    key: format!("jobs[{i}].name"),
                    message: format!("`{}` is defined twice", spec.name),
                });
            }
            let missing = match &job.target {
                crate::jobs::Target::Function { .. } => self.redis_url.is_none() && self.gateway.nodes.is_empty(),
                _ => self.windmill.is_none(),
            };
            if missing {
                return Err(ConfigError::Invalid {
                    key: format!("jobs[{i}].target"),
                    message: if job.target.is_windmill() {
                        "a Windmill target needs a [windmill] table".into()
                    } else {
                        "a function target needs `gateway.nodes` or `redis_url`".into()
                    },
                });
            }
            longest_catch_up = longest_catch_up.max(job.catch_up);
        }
        if self.retention < longest_catch_up * 2 {
            return Err(ConfigError::Invalid {
                key: "retention".into(),
                message: "must be at least twice the longest `catch_up` of the jobs".into(),
            });
        }
        Ok(())
    }

    /// The Windmill client settings, when Windmill is configured.
    pub fn windmill_settings(&self) -> Option<WindmillSettings> {
        let w = self.windmill.as_ref()?;
        Some(WindmillSettings {
            base_url: w.base_url.clone(),
            token: w.token.clone()?,
            workspace: w.workspace.clone(),
            request_timeout: w.request_timeout,
        })
    }
}

#[cfg(test)]
mod tests;
