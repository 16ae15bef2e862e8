//! The gateway's typed configuration, [`FlexCoreConfig`], and where it comes
//! from: defaults that run on one machine with nothing else installed, then a
//! TOML file (`--config`), then `FLEXCORE_*` variables, then flags.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use flexcore_infra::config::EnvKind;
pub use flexcore_infra::telemetry::LogConfig;
use flexcore_infra::{ConfigError, ConfigLoader, Secret};
use serde::Deserialize;

/// Everything the gateway can be told. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlexCoreConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// This node's id, in headers, logs and cluster membership.
    pub node_id: String,
    /// Folder whose `*.so` files are loaded as plugins. Default: the folder of
    /// the gateway's own executable (the build's output folder).
    pub plugin_dir: PathBuf,
    /// Largest request body accepted; larger is 413.
    pub max_body_bytes: usize,
    /// Per-call deadline; past it the caller gets 504.
    #[serde(with = "humantime_serde")]
    pub invoke_timeout: Duration,
    /// A plugin whose inline calls take longer than this three times in a
    /// row moves to the blocking thread pool, until a long run of fast calls
    /// there brings it back.
    #[serde(with = "humantime_serde")]
    pub slow_call_threshold: Duration,
    /// How long a graceful shutdown waits for in-flight calls.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// PostgreSQL URL for pipelines, executions, subscriptions and plugin
    /// records (and, in a cluster, leadership); without one they live in
    /// memory (one node, lost on restart).
    pub database_url: Option<Secret>,
    /// Connections in the database pool.
    pub database_pool_size: usize,
    /// Redis URL: with it (and `database_url`), this node joins a cluster:
    /// membership, leadership and durable events. Without it, one node.
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key, so that clusters (and tests) share a Redis.
    pub redis_prefix: String,
    /// The URL other nodes and tools reach this node at. Default: `http://{listen}`.
    pub advertise_url: Option<String>,
    pub cluster: ClusterConfig,
    pub events: EventsConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    /// Per-plugin settings, read by plugins through the host's `config_get`.
    pub plugins: HashMap<String, HashMap<String, String>>,
}

/// Membership and leadership timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// How often a node writes its heartbeat.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// How long a heartbeat counts: a node silent for longer leaves the list.
    #[serde(with = "humantime_serde")]
    pub member_ttl: Duration,
    /// How often the leader checks its lock connection (and others try the lock).
    #[serde(with = "humantime_serde")]
    pub leader_check_interval: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(1),
            member_ttl: Duration::from_secs(3),
            leader_check_interval: Duration::from_secs(1),
        }
    }
}

/// Event delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Attempts per event and target before it becomes a dead letter.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles with each further attempt.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// An entry pending this long at a consumer is taken over by the leader
    /// (its consumer is presumed dead).
    #[serde(with = "humantime_serde")]
    pub reclaim_idle: Duration,
    /// Entries read from the stream at once.
    pub batch: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            retry_backoff: Duration::from_millis(100),
            reclaim_idle: Duration::from_secs(5),
            batch: 256,
        }
    }
}

/// Bearer tokens. With none set, every route is open.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Tokens that may invoke plugins.
    pub invoke_tokens: Vec<Secret>,
    /// Tokens that may invoke plugins and administer (reload plugins, change
    /// pipelines and subscriptions).
    pub admin_tokens: Vec<Secret>,
}

impl Default for FlexCoreConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            node_id: format!("{}-{}", flexcore_infra::host_name(), std::process::id()),
            plugin_dir: default_plugin_dir(),
            max_body_bytes: 16 * 1024 * 1024,
            invoke_timeout: Duration::from_secs(30),
            slow_call_threshold: Duration::from_millis(10),
            shutdown_grace: Duration::from_secs(10),
            database_url: None,
            database_pool_size: 16,
            redis_url: None,
            redis_prefix: "flexcore".into(),
            advertise_url: None,
            cluster: ClusterConfig::default(),
            events: EventsConfig::default(),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            plugins: HashMap::new(),
        }
    }
}

/// The environment variables the gateway reads, and the key each sets.
pub const ENV_VARS: &[(&str, &str, EnvKind)] = &[
    ("FLEXCORE_LISTEN", "listen", EnvKind::Text),
    ("FLEXCORE_NODE_ID", "node_id", EnvKind::Text),
    ("FLEXCORE_PLUGIN_DIR", "plugin_dir", EnvKind::Text),
    ("FLEXCORE_MAX_BODY_BYTES", "max_body_bytes", EnvKind::Scalar),
    ("FLEXCORE_INVOKE_TIMEOUT", "invoke_timeout", EnvKind::Text),
    ("FLEXCORE_SLOW_CALL_THRESHOLD", "slow_call_threshold", EnvKind::Text),
    ("FLEXCORE_SHUTDOWN_GRACE", "shutdown_grace", EnvKind::Text),
    ("FLEXCORE_DATABASE_URL", "database_url", EnvKind::Text),
    ("FLEXCORE_DATABASE_POOL_SIZE", "database_pool_size", EnvKind::Scalar),
    ("FLEXCORE_INVOKE_TOKENS", "auth.invoke_tokens", EnvKind::List),
    ("FLEXCORE_ADMIN_TOKENS", "auth.admin_tokens", EnvKind::List),
    ("FLEXCORE_LOG_LEVEL", "log.level", EnvKind::Text),
    ("FLEXCORE_LOG_FORMAT", "log.format", EnvKind::Text),
    ("FLEXCORE_REDIS_URL", "redis_url", EnvKind::Text),
    ("FLEXCORE_REDIS_PREFIX", "redis_prefix", EnvKind::Text),
    ("FLEXCORE_ADVERTISE_URL", "advertise_url", EnvKind::Text),
    (
        "FLEXCORE_HEARTBEAT_INTERVAL",
        "cluster.heartbeat_interval",
        EnvKind::Text,
    ),
    ("FLEXCORE_MEMBER_TTL", "cluster.member_ttl", EnvKind::Text),
    ("FLEXCORE_EVENT_MAX_ATTEMPTS", "events.max_attempts", EnvKind::Scalar),
    ("FLEXCORE_EVENT_RETRY_BACKOFF", "events.retry_backoff", EnvKind::Text),
    ("FLEXCORE_EVENT_RECLAIM_IDLE", "events.reclaim_idle", EnvKind::Text),
];

/// The command line of `flexcore-gateway`.
#[derive(Debug, Parser)]
#[command(name = "flexcore-gateway", version, about = "FlexCore function gateway")]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Folder of plugin `*.so` files.
    #[arg(long, value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// This node's id.
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
}

impl FlexCoreConfig {
    /// Loads defaults, the file, the environment and the flags, then validates.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let mut loader = ConfigLoader::new().file(cli.config.as_deref())?.env(ENV_VARS)?;
        if let Some(listen) = &cli.listen {
            loader = loader.set("listen", listen.as_str());
        }
        if let Some(dir) = &cli.plugin_dir {
            loader = loader.set("plugin_dir", dir.to_string_lossy().as_ref());
        }
        if let Some(id) = &cli.node_id {
            loader = loader.set("node_id", id.as_str());
        }
        let config: Self = loader.build()?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message,
            })
        };
        let id_ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if self.node_id.is_empty() || self.node_id.len() > 64 || !self.node_id.chars().all(id_ok) {
            return invalid("node_id", "1 to 64 characters of [A-Za-z0-9._-]".into());
        }
        if !self.plugin_dir.is_dir() {
            return invalid(
                "plugin_dir",
                format!("{} is not a directory", self.plugin_dir.display()),
            );
        }
        if self.max_body_bytes == 0 {
            return invalid("max_body_bytes", "must be at least 1".into());
        }
        if self.database_pool_size == 0 {
            return invalid("database_pool_size", "must be at least 1".into());
        }
        if let Some(url) = &self.database_url
            && url
                .expose()
                .parse::<flexcore_infra::postgres::tokio_postgres::Config>()
                .is_err()
        {
            return invalid("database_url", "not a valid PostgreSQL URL".into());
        }
        if self.redis_url.is_some() && self.database_url.is_none() {
            return invalid(
                "redis_url",
                "a cluster needs database_url too (leadership and subscriptions)".into(),
            );
        }
        if self.redis_prefix.is_empty() || self.redis_prefix.contains(char::is_whitespace) {
            return invalid("redis_prefix", "must be non-empty, without spaces".into());
        }
        if let Some(url) = &self.advertise_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("advertise_url", "must start with http:// or https://".into());
        }
        if self.cluster.heartbeat_interval.is_zero() || self.cluster.member_ttl <= self.cluster.heartbeat_interval {
            return invalid(
                "cluster.member_ttl",
                "must be longer than cluster.heartbeat_interval (> 0)".into(),
            );
        }
        if self.cluster.leader_check_interval.is_zero() {
            return invalid("cluster.leader_check_interval", "must be more than 0".into());
        }
        if self.events.max_attempts == 0 || self.events.batch == 0 {
            return invalid(
                "events.max_attempts",
                "max_attempts and batch must be at least 1".into(),
            );
        }
        if self.invoke_timeout.is_zero() {
            return invalid("invoke_timeout", "must be more than 0".into());
        }
        for (key, tokens) in [
            ("auth.invoke_tokens", &self.auth.invoke_tokens),
            ("auth.admin_tokens", &self.auth.admin_tokens),
        ] {
            if tokens
                .iter()
                .any(|t| t.expose().len() < 8 || t.expose().bytes().any(|b| !b.is_ascii_graphic()))
            {
                return invalid(key, "each token must be at least 8 visible ASCII characters".into());
            }
        }
        Ok(())
    }
}

fn default_plugin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_local() {
        let c = FlexCoreConfig {
            plugin_dir: std::env::temp_dir(),
            ..FlexCoreConfig::default()
        };
        c.validate().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.auth.admin_tokens.is_empty());
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let mut c = FlexCoreConfig::default();
        c.auth.admin_tokens.push(Secret::new("super-secret-token"));
        assert!(!format!("{c:?}").contains("super-secret-token"));
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let c = FlexCoreConfig {
            node_id: "bad id!".into(),
            plugin_dir: std::env::temp_dir(),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("node_id"));
        let c = FlexCoreConfig {
            plugin_dir: "/nonexistent".into(),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("plugin_dir"));
    }
}
