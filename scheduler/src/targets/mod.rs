//! Targets: where a run's work goes.
//!
//! - [`function`]: a gateway function, called on a live gateway node
//!   (from Redis membership or a configured list), round-robin, on another
//!   node when one is unreachable;
//! - [`windmill`]: a Windmill script or flow, submitted under a job id
//!   derived from the tick (UUIDv5), then followed to its end;
//! - [`system`]: the system workflows created in Windmill at start-up.
//!
//! [`Targets`] holds what is configured; a job whose target kind is not
//! configured fails its runs with a message saying what is missing.

pub mod function;
pub mod system;
pub mod windmill;

use std::future::Future;
use std::sync::Arc;

use flexcore_infra::windmill::WindmillClient;
pub use function::{CallError, FunctionTargets, Nodes};
use tokio::sync::watch;
pub use windmill::WindmillTargets;

use crate::Error;
use crate::config::SchedulerConfig;

/// The configured targets.
#[derive(Clone, Default)]
pub struct Targets {
    pub functions: Option<Arc<FunctionTargets>>,
    pub windmill: Option<Arc<WindmillTargets>>,
}

impl Targets {
    /// The clients of what `config` sets up: Windmill when `[windmill]` is
    /// there; gateway functions on the nodes of Redis membership when
    /// `redis_url` is set, else on `[gateway] nodes` when there are any.
    pub fn from_config(config: &SchedulerConfig) -> Result<Self, Error> {
        let windmill = match config.windmill_settings() {
            Some(settings) => Some(Arc::new(WindmillTargets::new(WindmillClient::new(&settings)?))),
            None => None,
        };
        let nodes = match &config.redis_url {
            Some(url) => Some(Nodes::redis(url, &config.redis_prefix, config.gateway.node_ttl)?),
            None if !config.gateway.nodes.is_empty() => Some(Nodes::Static(
                config
                    .gateway
                    .nodes
                    .iter()
                    .map(|n| n.trim_end_matches('/').to_owned())
                    .collect(),
            )),
            None => None,
        };
        let functions = match nodes {
            Some(nodes) => Some(Arc::new(FunctionTargets::new(nodes, config.gateway.token.clone())?)),
            None => None,
        };
        Ok(Self { functions, windmill })
    }

    /// The task that creates the [`system`] workflows in Windmill, when
    /// Windmill is configured and `create_system_workflows` is on.
    pub fn create_system_workflows(
        &self,
        config: &SchedulerConfig,
        stop: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let windmill = self.windmill.as_ref()?;
        let wanted = config.windmill.as_ref()?.create_system_workflows;
        wanted.then(|| system::ensure_in_background(windmill.client.clone(), stop))
    }
}
