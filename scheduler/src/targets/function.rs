//! Function targets: `POST {node}/plugins/{function}/execute` on a live
//! gateway node.
//!
//! Nodes come from Redis cluster membership when `redis_url` is set (the
//! gateways' heartbeats, read through the layout and member record of
//! [`flexcore_infra::cluster`]), else from the configured list.
//! Calls go round-robin; a node that cannot be reached, answers 503, or does
//! not have the function, is skipped for the next one. A call that reached a
//! node and failed or timed out is not repeated elsewhere (that is the retry
//! policy's decision), so a function never runs twice in one attempt.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use flexcore_infra::Secret;
use flexcore_infra::cluster::{Keys, Member};
use flexcore_infra::redis::{self as infra_redis, RedisPool, redis};
use reqwest::StatusCode;
use serde_json::Value;

use crate::Error;

/// Where the gateway nodes are found.
pub enum Nodes {
    /// A fixed list of base URLs (`http://127.0.0.1:8080`).
    Static(Vec<String>),
    /// Gateway membership in Redis.
    Redis {
        pool: RedisPool,
        keys: Keys,
        /// A node whose heartbeat is older is dead.
        ttl: Duration,
    },
}

/// Whether `member` lists `function` among its plugins (a node that lists
/// none is assumed to have it).
fn serves(member: &Member, function: &str) -> bool {
    member.plugins.is_empty() || member.plugins.iter().any(|name| name == function)
}

impl Nodes {
    /// Connects to Redis (lazily: an unreachable Redis fails calls, not
    /// start-up).
    pub fn redis(url: &Secret, prefix: &str, ttl: Duration) -> Result<Self, Error> {
        let pool = infra_redis::pool(url.expose(), 4).map_err(|e| Error::Redis(e.to_string()))?;
        Ok(Self::Redis {
            pool,
            keys: Keys::new(prefix),
            ttl,
        })
    }

    /// The base URLs of the live nodes that may serve `function`, in a
    /// stable order.
    pub async fn live(&self, function: &str) -> Result<Vec<String>, Error> {
        match self {
            Self::Static(urls) => Ok(urls.clone()),
            Self::Redis { pool, keys, ttl } => {
                let redis_err = |e: redis::RedisError| Error::Redis(e.to_string());
                let mut conn = pool.get().await.map_err(|e| Error::Redis(e.to_string()))?;
                let oldest = Utc::now().timestamp_millis() - i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
                let mut ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                    .arg(keys.nodes())
                    .arg(oldest)
                    .arg("+inf")
                    .query_async(&mut *conn)
                    .await
                    .map_err(redis_err)?;
                ids.sort();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let node_keys: Vec<String> = ids.iter().map(|id| keys.node(id)).collect();
                let records: Vec<Option<String>> = redis::cmd("MGET")
                    .arg(&node_keys)
                    .query_async(&mut *conn)
                    .await
                    .map_err(redis_err)?;
                Ok(records
                    .into_iter()
                    .flatten()
                    .filter_map(|json| serde_json::from_str::<Member>(&json).ok())
                    .filter(|member| serves(member, function))
                    .map(|member| member.address.trim_end_matches('/').to_owned())
                    .collect())
            }
        }
    }
}

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The function ran (or may have) and failed.
    #[error("{0}")]
    Failed(String),
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// No node could take the call.
    #[error("no gateway node could take the call: {0}")]
    Unavailable(String),
}

/// Gateway function calls.
pub struct FunctionTargets {
    nodes: Nodes,
    http: reqwest::Client,
    token: Option<Secret>,
    next: AtomicUsize,
}

impl FunctionTargets {
    pub fn new(nodes: Nodes, token: Option<Secret>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Self {
            nodes,
            http,
            token,
            next: AtomicUsize::new(0),
        })
    }

    /// Calls `function` with `payload` on a live node; `request_id` is sent
    /// as `x-request-id` (the gateway logs it).
    pub async fn call(
        &self,
        function: &str,
        payload: &Value,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let nodes = self
            .nodes
            .live(function)
            .await
            .map_err(|e| CallError::Unavailable(e.to_string()))?;
        if nodes.is_empty() {
            return Err(CallError::Unavailable(format!("no live gateway node has `{function}`")));
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut failures = Vec::new();
        for i in 0..nodes.len() {
            let node = &nodes[(start + i) % nodes.len()];
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(CallError::TimedOut(timeout));
            }
            match self.call_node(node, function, payload, request_id, left).await {
                Ok(result) => return Ok(result),
                Err(NodeError::Skip(why)) => {
                    tracing::debug!(node, function, "trying another node: {why}");
                    failures.push(format!("{node}: {why}"));
                }
                Err(NodeError::Call(e)) => return Err(e),
            }
        }
        Err(CallError::Unavailable(failures.join("; ")))
    }

    async fn call_node(
        &self,
        node: &str,
        function: &str,
        payload: &Value,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Value, NodeError> {
        let mut request = self
            .http
            .post(format!("{node}/plugins/{function}/execute"))
            .header("x-request-id", request_id)
            .timeout(timeout)
            .json(payload);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = match request.send().await {
            Ok(response) => response,
            // Not connected: nothing ran there, another node may take it.
            Err(e) if e.is_connect() => return Err(NodeError::Skip(e.to_string())),
            Err(e) if e.is_timeout() => return Err(NodeError::Call(CallError::TimedOut(timeout))),
            Err(e) => return Err(NodeError::Call(CallError::Failed(e.to_string()))),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) if e.is_timeout() => return Err(NodeError::Call(CallError::TimedOut(timeout))),
            Err(e) => return Err(NodeError::Call(CallError::Failed(e.to_string()))),
        };
        let value = serde_json::from_slice::<Value>(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| value.to_string(), str::to_owned);
        match status {
            // This node cannot take it now (draining, shedding load), or does
            // not have the function loaded: another node may.
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::NOT_FOUND => {
                Err(NodeError::Skip(format!("{status}: {message}")))
            }
            StatusCode::GATEWAY_TIMEOUT => Err(NodeError::Call(CallError::TimedOut(timeout))),
            _ => Err(NodeError::Call(CallError::Failed(format!("{status}: {message}")))),
        }
    }
}

enum NodeError {
    /// Try the next node.
    Skip(String),
    /// The call's outcome.
    Call(CallError),
}
