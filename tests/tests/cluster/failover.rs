//! Leader failover: `kill -9` of the leader; within 3 s exactly one other
//! node leads, and the dead node leaves `GET /cluster` within the TTL. The
//! measured times are printed (`cargo test ... -- --nocapture`).

use std::time::Duration;

use flexcore_tests::wait;
use tokio::time::Instant;

use crate::harness::{Cluster, MEMBER_TTL, Settings, node_ids};

/// How soon another node must lead.
const FAILOVER_BOUND: Duration = Duration::from_secs(3);
/// Slack for polling and scheduling on top of the TTL.
const POLL_SLACK: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_hands_leadership_to_exactly_one_other_node_within_3s() {
    let mut cluster = Cluster::start(3, Settings::default()).await;
    let old_leader = cluster.wait_agreed(Duration::from_secs(10)).await;

    cluster.kill(&old_leader).await;
    let killed = Instant::now();

    // Failover: the first moment a survivor says, in /info, that it leads.
    let within = FAILOVER_BOUND.saturating_sub(killed.elapsed());
    let (new_leader, failover) = wait::until(within, Duration::from_millis(10), async || {
        let leaders = cluster.self_declared_leaders().await;
        assert!(leaders.len() <= 1, "two leaders at once: {leaders:?}");
        match leaders.as_slice() {
            [leader] => Ok((leader.clone(), killed.elapsed())),
            _ => Err(()),
        }
    })
    .await
    .unwrap_or_else(|()| {
        panic!(
            "no node leads {FAILOVER_BOUND:?} after the leader was killed;{}",
            cluster.logs()
        )
    });
    assert_ne!(new_leader, old_leader);

    // Every survivor's GET /cluster names the new leader too, still within 3 s.
    let within = FAILOVER_BOUND.saturating_sub(killed.elapsed());
    let agreed = wait::until(within, Duration::from_millis(10), async || {
        let views = survivors_views(&cluster).await;
        if views.iter().all(|v| v["leader"] == new_leader.as_str()) {
            Ok(killed.elapsed())
        } else {
            Err(views)
        }
    })
    .await
    .unwrap_or_else(|views| panic!("views after {FAILOVER_BOUND:?}: {views:?}"));

    // The dead node drops out of every view within the TTL of its last heartbeat.
    let within = (MEMBER_TTL + POLL_SLACK).saturating_sub(killed.elapsed());
    let dropped = wait::until(within, Duration::from_millis(20), async || {
        let views = survivors_views(&cluster).await;
        if views
            .iter()
            .all(|v| !v.is_null() && !node_ids(v).contains(&old_leader.as_str()))
        {
            Ok(killed.elapsed())
        } else {
            Err(views)
        }
    })
    .await
    .unwrap_or_else(|views| {
        panic!(
            "{old_leader} is still listed {:?} after its death: {views:?}",
            killed.elapsed()
        )
    });
    println!(
        "failover: {new_leader} leads {failover:?} after {old_leader} was killed (views agree after {agreed:?}); \
         the dead node left GET /cluster after {dropped:?} (TTL {MEMBER_TTL:?})"
    );

    assert_eq!(cluster.wait_agreed(Duration::from_secs(2)).await, new_leader);
    assert_eq!(cluster.self_declared_leaders().await, std::slice::from_ref(&new_leader));
    // The terms table tells who led when: the dead leader's term was closed
    // by its successor, whose term is the only one open.
    let rows = cluster
        .db
        .client()
        .await
        .query(
            "SELECT node_id, ended_at IS NULL, coalesce(ended_reason, '') FROM cluster_leaders ORDER BY started_at",
            &[],
        )
        .await
        .unwrap();
    let terms: Vec<(String, bool, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        terms,
        [
            (old_leader, false, "superseded".to_owned()),
            (new_leader, true, String::new())
        ]
    );
}

async fn survivors_views(cluster: &Cluster) -> Vec<serde_json::Value> {
    let mut views = Vec::new();
    for node in cluster.live() {
        views.push(
            cluster
                .get_json(node, "/cluster")
                .await
                .unwrap_or(serde_json::Value::Null),
        );
    }
    views
}
