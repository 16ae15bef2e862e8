//! Events across the cluster: 10,000 events published concurrently over the
//! three nodes while the leader is killed with `kill -9` halfway; every
//! acknowledged event reaches its subscribed plugin, none is lost, and
//! duplicates (the only cost of the kill) stay below 1%.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use flexcore_tests::wait;
use serde_json::json;
use tokio::time::Instant;

use crate::harness::{Cluster, Settings, publish};

const EVENTS: usize = 10_000;
const PUBLISHERS: usize = 24;
/// Tries of one event over the nodes before the test gives up on it.
const TRIES: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_are_delivered_once_or_more_despite_a_node_killed_midway() {
    let mut cluster = Cluster::start(3, Settings::default()).await;
    let leader = cluster.wait_agreed(Duration::from_secs(10)).await;
    cluster.subscribe("load.tick", "recorder").await;

    let addrs: Arc<Vec<SocketAddr>> = Arc::new(cluster.nodes.iter().map(|n| n.addr).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|_| {
            let (addrs, next, acked, client) = (
                Arc::clone(&addrs),
                Arc::clone(&next),
                Arc::clone(&acked),
                cluster.client.clone(),
            );
            tokio::spawn(async move {
                let mut ids = Vec::new();
                let mut refused = 0usize;
                for _ in 0..EVENTS {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    if seq >= EVENTS {
                        break;
                    }
                    // A caller whose node died tries another one.
                    let mut tried = 0;
                    let id = loop {
                        let node = addrs[(seq + tried) % addrs.len()];
                        match publish(&client, node, "load.tick", json!({ "seq": seq })).await {
                            Ok(id) => break id,
                            Err(e) => {
                                tried += 1;
                                refused += 1;
                                assert!(tried < TRIES, "event {seq} was refused {TRIES} times; last: {e}");
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    };
                    ids.push(id);
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                (ids, refused)
            })
        })
        .collect();

    // Halfway, kill the leader: it leaves entries read and not acknowledged
    // (and some delivered but not yet acknowledged), and its chores stop.
    let halfway = wait::until_some(Duration::from_secs(120), Duration::from_millis(5), async || {
        (acked.load(Ordering::Relaxed) >= EVENTS / 2).then_some(())
    })
    .await;
    assert!(halfway.is_some(), "half the events were not published within 120 s");
    cluster.kill(&leader).await;
    let killed_at = acked.load(Ordering::Relaxed);

    let mut published = Vec::with_capacity(EVENTS);
    let mut refused = 0;
    for publisher in publishers {
        let (ids, refusals) = publisher.await.unwrap();
        published.extend(ids);
        refused += refusals;
    }
    let publish_time = started.elapsed();
    let unique: HashSet<&String> = published.iter().collect();
    assert_eq!(unique.len(), EVENTS, "every acknowledged event has its own id");

    // Delivered, and nothing left pending anywhere (the dead node's entries
    // were reclaimed and finished by the new leader).
    let tally = cluster.wait_delivered(&published, Duration::from_secs(90)).await;
    let delivered_after = started.elapsed();
    let duplicates = tally.duplicates();
    println!(
        "events: {EVENTS} acknowledged in {publish_time:?} ({refused} publish attempts refused or cut, \
         {leader} killed after {killed_at}); all delivered after {delivered_after:?}: \
         {} calls, {duplicates} duplicates ({:.3}%)",
        tally.calls,
        duplicates as f64 * 100.0 / EVENTS as f64
    );
    assert!(
        duplicates * 100 < EVENTS,
        "{duplicates} duplicates: more than 1% of {EVENTS}"
    );
}
