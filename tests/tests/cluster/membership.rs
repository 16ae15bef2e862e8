//! Membership: every node sees the same live set and the same single leader;
//! a node that stops cleanly leaves the list at once.

use std::time::Duration;

use flexcore_tests::wait;
use tokio::time::Instant;

use crate::harness::{Cluster, MEMBER_TTL, Settings, node_ids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_lists_the_same_three_nodes_and_the_same_single_leader() {
    let cluster = Cluster::start(3, Settings::default()).await;
    let leader = cluster.wait_agreed(Duration::from_secs(10)).await;
    // A node's first heartbeat may come before its plugins are loaded; the
    // next one (a heartbeat interval later) lists them.
    let listed = wait::until_some(Duration::from_secs(3), Duration::from_millis(50), async || {
        every_member_lists(&cluster, "recorder").await.then_some(())
    })
    .await;
    assert!(listed.is_some(), "members do not list their plugins after 3 s");

    for node in cluster.live() {
        let response = cluster.client.get(node.url("/cluster")).send().await.unwrap();
        assert_eq!(
            response.headers()["x-flexcore-node"].to_str().unwrap(),
            node.id,
            "the node header names the node that answered"
        );
        let view: serde_json::Value = response.json().await.unwrap();
        assert_eq!(view["mode"], "cluster");
        assert_eq!(view["node_id"], node.id.as_str());
        assert_eq!(view["leader"], leader.as_str());
        assert_eq!(view["member_ttl_ms"], MEMBER_TTL.as_millis() as u64);
        assert_eq!(node_ids(&view), ["node-1", "node-2", "node-3"], "{view}");
        for member in view["nodes"].as_array().unwrap() {
            let id = member["node_id"].as_str().unwrap();
            let expected_role = if id == leader { "leader" } else { "follower" };
            assert_eq!(member["role"], expected_role, "{member}");
            assert_eq!(member["address"], cluster.node(id).url("").as_str(), "{member}");
            let plugins: Vec<&str> = member["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p.as_str())
                .collect();
            assert!(plugins.contains(&"echo") && plugins.contains(&"recorder"), "{member}");
            let age =
                flexcore_gateway::clock::unix_ms().saturating_sub(member["last_heartbeat_unix_ms"].as_u64().unwrap());
            assert!(
                age <= MEMBER_TTL.as_millis() as u64,
                "a live member's heartbeat is {age} ms old"
            );
        }
    }
    // Each node's own opinion agrees with the shared view.
    assert_eq!(cluster.self_declared_leaders().await, std::slice::from_ref(&leader));
    let terms = cluster
        .db
        .client()
        .await
        .query("SELECT node_id FROM cluster_leaders WHERE ended_at IS NULL", &[])
        .await
        .unwrap();
    let open: Vec<String> = terms.iter().map(|row| row.get(0)).collect();
    assert_eq!(open, [leader], "exactly one open leadership term, the leader's");
}

/// Whether every node's view lists `plugin` for every member.
async fn every_member_lists(cluster: &Cluster, plugin: &str) -> bool {
    for node in cluster.live() {
        let Some(view) = cluster.get_json(node, "/cluster").await else {
            return false;
        };
        let all = view["nodes"].as_array().is_some_and(|members| {
            members
                .iter()
                .all(|m| m["plugins"].as_array().is_some_and(|p| p.iter().any(|p| p == plugin)))
        });
        if !all {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_cleanly_leaves_the_list_at_once() {
    let mut cluster = Cluster::start(3, Settings::default()).await;
    let leader = cluster.wait_agreed(Duration::from_secs(10)).await;
    let follower = cluster.live().find(|n| n.id != leader).unwrap().id.clone();

    let stopped = Instant::now();
    cluster
        .nodes
        .iter_mut()
        .find(|n| n.id == follower)
        .unwrap()
        .terminate()
        .await;
    let survivor = cluster.live().next().unwrap();
    let view = cluster.get_json(survivor, "/cluster").await.unwrap();
    // Not waited for: gone by the time the process has exited, well inside the TTL.
    assert!(!node_ids(&view).contains(&follower.as_str()), "{view}");
    assert!(
        stopped.elapsed() < MEMBER_TTL,
        "the clean stop took {:?}",
        stopped.elapsed()
    );
    assert_eq!(cluster.wait_agreed(Duration::from_secs(5)).await, leader);
}
