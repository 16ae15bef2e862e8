//! A target that keeps failing: each event is tried `max_attempts` times,
//! then lands in the dead-letter stream (`GET /events/dead`) and is
//! acknowledged, not retried forever; the event's other target, which
//! succeeded, is not called again.

use std::collections::HashSet;
use std::time::Duration;

use flexcore_tests::recorder::{self, Tally};
use flexcore_tests::wait;
use serde_json::{Value, json};

use crate::harness::{Cluster, Settings, publish};

const EVENTS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_keeps_failing_is_dead_lettered_after_its_attempts() {
    let settings = Settings::default();
    let attempts = settings.max_attempts as usize;
    let cluster = Cluster::start(3, settings).await;
    cluster.wait_agreed(Duration::from_secs(10)).await;
    cluster.subscribe("order.created", "broken").await;
    cluster.subscribe("order.created", "recorder").await;

    let mut published = Vec::new();
    for (i, node) in cluster.live().enumerate().take(EVENTS) {
        published.push(
            publish(&cluster.client, node.addr, "order.created", json!({ "order": i }))
                .await
                .unwrap(),
        );
    }

    let letters = wait::until(Duration::from_secs(20), Duration::from_millis(100), async || {
        let dead = cluster
            .get_json(cluster.live().next().unwrap(), "/events/dead")
            .await
            .unwrap();
        let letters = dead["dead_letters"].as_array().unwrap().clone();
        if letters.len() >= EVENTS {
            Ok(letters)
        } else {
            Err(dead)
        }
    })
    .await
    .unwrap_or_else(|dead| panic!("fewer than {EVENTS} dead letters after 20 s: {dead};{}", cluster.logs()));
    assert_eq!(letters.len(), EVENTS, "one letter per event: {letters:?}");
    let ids: HashSet<&str> = letters.iter().map(|l| l["event"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, published.iter().map(String::as_str).collect());
    for letter in &letters {
        assert_eq!(letter["target"], "plugin:broken", "{letter}");
        assert_eq!(letter["attempts"], attempts, "{letter}");
        assert_eq!(letter["event"]["type"], "order.created", "{letter}");
        assert!(letter["event"]["data"]["order"].is_u64(), "{letter}");
        assert!(letter["error"].as_str().is_some_and(|e| !e.is_empty()), "{letter}");
        assert!(letter["subscription_id"].is_string(), "{letter}");
    }

    // No endless loop: well after the last letter, each event was tried
    // exactly `attempts` times at the failing target, once at the other one,
    // and nothing is left pending.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let broken = Tally::of(&recorder::read(&cluster.broken_file()));
    let recorded = Tally::of(&cluster.deliveries());
    for id in &published {
        assert_eq!(
            broken.counts.get(id),
            Some(&attempts),
            "calls of the failing target for {id}"
        );
        assert_eq!(
            recorded.counts.get(id),
            Some(&1),
            "calls of the healthy target for {id}"
        );
    }
    assert_eq!(cluster.pending().await, 0, "dead-lettered entries are acknowledged");
    let again: Value = cluster
        .get_json(cluster.live().last().unwrap(), "/events/dead?limit=1")
        .await
        .unwrap();
    assert_eq!(again["dead_letters"].as_array().unwrap().len(), 1, "limit is honoured");
}
