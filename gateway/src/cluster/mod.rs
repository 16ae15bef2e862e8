//! The cluster: stateless gateway nodes that coordinate only through Redis
//! (membership, events) and PostgreSQL (leadership, shared state).
//!
//! - [`keys`]: the Redis key layout (in `flexcore_infra::cluster`);
//! - [`membership`]: heartbeats with a TTL, the live set, clean leaving;
//! - [`leadership`]: one leader by advisory lock, checked every interval.
//!
//! [`Cluster`] runs both for this node and answers `GET /cluster`. Without
//! Redis the node is standalone and reports itself alone.

pub mod keys;
pub mod leadership;
pub mod membership;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flexcore_infra::redis::RedisPool;
use serde::Serialize;
use tokio::sync::watch;

pub use flexcore_infra::cluster::Member;
pub use membership::Membership;

use crate::host::PluginHost;

/// Where this node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Standalone,
    Leader,
    Follower,
}

/// What membership and leadership need to start.
pub struct Settings {
    pub node_id: String,
    pub address: String,
    pub database_url: String,
    pub redis_prefix: String,
    pub heartbeat_interval: Duration,
    pub member_ttl: Duration,
    pub leader_check_interval: Duration,
}

/// This node's part in the cluster.
pub struct Cluster {
    node_id: String,
    membership: Membership,
    is_leader: Arc<AtomicBool>,
    ttl: Duration,
}

#[derive(Serialize)]
pub struct ClusterView {
    pub mode: &'static str,
    pub node_id: String,
    pub leader: Option<String>,
    pub member_ttl_ms: u64,
    pub nodes: Vec<NodeView>,
}

#[derive(Serialize)]
pub struct NodeView {
    pub node_id: String,
    pub address: String,
    pub role: String,
    pub last_heartbeat_unix_ms: u64,
    pub load: u64,
    pub version: String,
    pub plugins: Vec<String>,
}

impl Cluster {
    /// Starts heartbeats, leadership and the leader's chores until `shutdown`.
    pub fn start(
        settings: Settings,
        pool: RedisPool,
        host: Arc<PluginHost>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let keys = keys::Keys::new(&settings.redis_prefix);
        let membership = Membership::new(pool, keys, settings.member_ttl);
        let is_leader = Arc::new(AtomicBool::new(false));
        let cluster = Arc::new(Self {
            node_id: settings.node_id.clone(),
            membership: membership.clone(),
            is_leader: Arc::clone(&is_leader),
            ttl: settings.member_ttl,
        });
        tokio::spawn(leadership::run(
            leadership::Settings {
                database_url: settings.database_url.clone(),
                node_id: settings.node_id.clone(),
                lock_name: format!("flexcore:cluster:leader:{}", settings.redis_prefix),
                check_interval: settings.leader_check_interval,
            },
            membership.clone(),
            Arc::clone(&is_leader),
            shutdown.clone(),
        ));
        tokio::spawn(Arc::clone(&cluster).heartbeat(settings, host, shutdown));
        cluster
    }

    /// Whether this node leads now (shared with the event consumer).
    pub fn leader_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.is_leader)
    }

    pub fn role(&self) -> Role {
        if self.is_leader.load(Ordering::Relaxed) {
            Role::Leader
        } else {
            Role::Follower
        }
    }

    /// The live nodes as Redis has them.
    pub async fn view(&self) -> Result<ClusterView, crate::Error> {
        let (members, leader) = self
            .membership
            .live()
            .await
            .map_err(|e| crate::Error::ServiceUnavailable {
                service: "cluster",
                message: format!("Redis: {e}"),
            })?;
        let nodes = members
            .into_iter()
            .map(|m| NodeView {
                role: if leader.as_deref() == Some(m.node_id.as_str()) {
                    "leader".into()
                } else {
                    "follower".into()
                },
                node_id: m.node_id,
                address: m.address,
                last_heartbeat_unix_ms: m.heartbeat_unix_ms,
                load: m.load,
                version: m.version,
                plugins: m.plugins,
            })
            .collect();
        Ok(ClusterView {
            mode: "cluster",
            node_id: self.node_id.clone(),
            leader,
            member_ttl_ms: self.ttl.as_millis() as u64,
            nodes,
        })
    }

    /// Heartbeats until shutdown, then leaves the member list at once. The
    /// leader also prunes members whose heartbeat expired.
    async fn heartbeat(
        self: Arc<Self>,
        settings: Settings,
        host: Arc<PluginHost>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(settings.heartbeat_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
            let leader = self.is_leader.load(Ordering::Relaxed);
            let mut plugins: Vec<String> = host.snapshot().plugins.keys().cloned().collect();
            plugins.sort();
            let member = Member {
                node_id: self.node_id.clone(),
                address: settings.address.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
                plugins,
                load: host.in_flight() as u64,
                heartbeat_unix_ms: crate::clock::unix_ms(),
                role: if leader { "leader".into() } else { "follower".into() },
            };
            if let Err(e) = self.membership.beat(&member, leader).await {
                tracing::warn!("heartbeat failed: {e}");
            }
            if leader && let Err(e) = self.membership.prune().await {
                tracing::warn!("cannot prune stale members: {e}");
            }
        }
        if let Err(e) = self.membership.leave(&self.node_id).await {
            tracing::warn!("cannot leave the member list: {e}");
        }
    }
}
