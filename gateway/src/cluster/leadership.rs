//! Leadership: at most one node leads, the one holding a PostgreSQL session
//! advisory lock on a dedicated connection (never a pooled one: the lock
//! belongs to the connection). The connection has TCP keepalive and
//! `tcp_user_timeout` set, so a dead leader's lock is freed within seconds.
//! The leader checks its connection every `leader_check_interval` and steps
//! down at once when the check fails; the others try the lock as often.
//!
//! The lock key is `lock_key("flexcore:cluster:leader:{redis_prefix}")`
//! (FNV-1a 64, see `flexcore_infra::postgres::lock_key`). Terms are recorded
//! in the `cluster_leaders` table: who led, from when, until when.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flexcore_infra::postgres::{self, tokio_postgres::Client};
use tokio::sync::watch;

use super::membership::Membership;

/// What leadership needs to know.
pub struct Settings {
    pub database_url: String,
    pub node_id: String,
    pub lock_name: String,
    pub check_interval: Duration,
}

/// Runs until `shutdown` turns true; `is_leader` says, at every moment,
/// whether this node holds the lock.
pub async fn run(
    settings: Settings,
    membership: Membership,
    is_leader: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let key = postgres::lock_key(&settings.lock_name);
    let mut ticker = tokio::time::interval(settings.check_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut connection: Option<(Client, tokio::task::JoinHandle<()>)> = None;

    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        if connection.as_ref().is_none_or(|(client, _)| client.is_closed()) {
            step_down(&is_leader, &membership, &settings.node_id, "lock connection lost").await;
            connection = postgres::dedicated(&settings.database_url).await.ok();
        }
        let Some((client, _)) = &connection else { continue };
        let healthy = if is_leader.load(Ordering::SeqCst) {
            check_alive(client, settings.check_interval).await
        } else {
            try_lock(client, key, settings.check_interval).await.inspect(|&won| {
                if won {
                    is_leader.store(true, Ordering::SeqCst);
                }
            })
        };
        match healthy {
            Some(true) if is_leader.load(Ordering::SeqCst) => {
                start_term_if_new(client, &settings.node_id, &membership).await;
            }
            Some(_) => {}
            None => {
                step_down(
                    &is_leader,
                    &membership,
                    &settings.node_id,
                    "lock connection check failed",
                )
                .await;
                if let Some((_, driver)) = connection.take() {
                    driver.abort();
                }
            }
        }
    }

    if is_leader.swap(false, Ordering::SeqCst) {
        if let Some((client, _)) = &connection {
            let _ = client
                .execute(
                    "UPDATE cluster_leaders SET ended_at = now(), ended_reason = 'shutdown'
                     WHERE node_id = $1 AND ended_at IS NULL",
                    &[&settings.node_id],
                )
                .await;
            let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await;
        }
        let _ = membership.release_leader(&settings.node_id).await;
        tracing::info!("stepped down: shutting down");
    }
}

/// `Some(true)` if this connection now holds the lock, `None` if the
/// connection failed.
async fn try_lock(client: &Client, key: i64, timeout: Duration) -> Option<bool> {
    let params: [&(dyn postgres::tokio_postgres::types::ToSql + Sync); 1] = [&key];
    let query = client.query_one("SELECT pg_try_advisory_lock($1)", &params);
    match tokio::time::timeout(timeout, query).await {
        Ok(Ok(row)) => Some(row.get::<_, bool>(0)),
        _ => None,
    }
}

/// `Some(true)` while the connection answers in time, `None` otherwise.
async fn check_alive(client: &Client, timeout: Duration) -> Option<bool> {
    match tokio::time::timeout(timeout, client.simple_query("SELECT 1")).await {
        Ok(Ok(_)) => Some(true),
        _ => None,
    }
}

/// On the first check after winning: record the term, close terms of
/// leaders that died without closing theirs, and say so in Redis at once.
async fn start_term_if_new(client: &Client, node_id: &str, membership: &Membership) {
    let open: Option<bool> = client
        .query_opt(
            "SELECT true FROM cluster_leaders WHERE node_id = $1 AND ended_at IS NULL",
            &[&node_id],
        )
        .await
        .ok()
        .flatten()
        .map(|row| row.get(0));
    if open.is_some() {
        return;
    }
    let recorded = client
        .execute(
            "WITH closed AS (
                 UPDATE cluster_leaders SET ended_at = now(), ended_reason = 'superseded' WHERE ended_at IS NULL
             )
             INSERT INTO cluster_leaders (node_id, started_at) VALUES ($1, now())",
            &[&node_id],
        )
        .await;
    if let Err(e) = recorded {
        tracing::warn!("cannot record the leadership term: {e}");
    }
    if let Err(e) = membership.claim_leader(node_id).await {
        tracing::warn!("leader, but cannot say so in Redis yet: {e}");
    }
    tracing::info!(node_id, "became the cluster leader");
}

async fn step_down(is_leader: &AtomicBool, membership: &Membership, node_id: &str, why: &str) {
    if is_leader.swap(false, Ordering::SeqCst) {
        tracing::warn!(node_id, "stepped down: {why}");
        let _ = membership.release_leader(node_id).await;
    }
}
