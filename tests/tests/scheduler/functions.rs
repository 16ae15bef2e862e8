//! Function targets: the call goes to a live gateway node, from the
//! configured list (skipping a dead one) or from Redis membership.

use std::time::Duration;

use flexcore_infra::redis::redis;
use flexcore_tests::TestGateway;
use flexcore_tests::ports::free_port;

use crate::harness::{Replica, World, jobs_toml};

const JOB: &str = "every = \"1s\"\noverlap = \"allow\"\n\
                   target = { function = \"echo\", payload = { hello = \"world\" } }";

async fn succeeded_runs(world: &World, job: &str) -> Vec<crate::harness::RunRow> {
    world
        .runs_of(job)
        .await
        .into_iter()
        .filter(|r| r.status == "succeeded")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_called_on_a_live_node_of_the_list() {
    let world = World::new(Duration::from_millis(20)).await;
    let gateway = TestGateway::start(|_| {}).await;
    // A node that refuses connections comes first: calls move on to the next.
    let dead = format!("127.0.0.1:{}", free_port());
    let extra = format!("[gateway]\nnodes = [\"http://{dead}\", \"{}\"]\n", gateway.url(""));
    let config = world.config_file(&extra, &jobs_toml(&["echo-list"], JOB));
    let replica = Replica::start(&config, "f1").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    replica.stop().await;
    gateway.stop().await;
    let runs = succeeded_runs(&world, "echo-list").await;
    assert!(runs.len() >= 3, "{:#?}", world.runs().await);
    let result: serde_json::Value = world
        .db
        .client()
        .await
        .query_one(
            "SELECT result FROM scheduler_runs WHERE status = 'succeeded' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(result, serde_json::json!({ "hello": "world" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_called_on_nodes_found_in_redis_membership() {
    let world = World::new(Duration::from_millis(20)).await;
    let gateway = TestGateway::start(|_| {}).await;
    let prefix = format!("flexcore-test-{}", uuid::Uuid::new_v4().simple());
    let redis_url = "redis://127.0.0.1:6379";
    let pool = flexcore_infra::redis::pool(redis_url, 2).unwrap();
    let dead = format!("127.0.0.1:{}", free_port());
    // The gateway's heartbeat, as the gateway writes it; and a stale member
    // (a dead node) that must not be called.
    let heartbeat = {
        let pool = pool.clone();
        let prefix = prefix.clone();
        let address = gateway.url("");
        tokio::spawn(async move {
            loop {
                let now = chrono::Utc::now().timestamp_millis();
                let mut conn = pool.get().await.unwrap();
                let live = serde_json::json!({
                    "node_id": "gw-1", "address": address, "version": "0.1.0",
                    "plugins": ["echo", "faulty"], "load": 0, "heartbeat_unix_ms": now, "role": "leader",
                });
                let stale = serde_json::json!({
                    "node_id": "gw-0", "address": format!("http://{dead}"), "plugins": ["echo"],
                    "load": 0, "heartbeat_unix_ms": now - 60_000, "role": "follower",
                });
                let _: () = redis::pipe()
                    .cmd("ZADD")
                    .arg(format!("{prefix}:cluster:nodes"))
                    .arg(now)
                    .arg("gw-1")
                    .ignore()
                    .cmd("ZADD")
                    .arg(format!("{prefix}:cluster:nodes"))
                    .arg(now - 60_000)
                    .arg("gw-0")
                    .ignore()
                    .cmd("SET")
                    .arg(format!("{prefix}:cluster:node:gw-1"))
                    .arg(live.to_string())
                    .arg("PX")
                    .arg(3000)
                    .ignore()
                    .cmd("SET")
                    .arg(format!("{prefix}:cluster:node:gw-0"))
                    .arg(stale.to_string())
                    .ignore()
                    .query_async(&mut *conn)
                    .await
                    .unwrap();
                drop(conn);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let extra = format!("redis_url = \"{redis_url}\"\nredis_prefix = \"{prefix}\"\n");
    let config = world.config_file(&extra, &jobs_toml(&["echo-redis"], JOB));
    let replica = Replica::start(&config, "f2").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    replica.stop().await;
    heartbeat.abort();
    gateway.stop().await;
    let mut conn = pool.get().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:cluster:nodes"))
        .arg(format!("{prefix}:cluster:node:gw-1"))
        .arg(format!("{prefix}:cluster:node:gw-0"))
        .query_async(&mut *conn)
        .await
        .unwrap();
    let runs = world.runs_of("echo-redis").await;
    let ok = runs.iter().filter(|r| r.status == "succeeded").count();
    assert!(
        ok >= 3 && ok == runs.iter().filter(|r| r.finished()).count(),
        "{runs:#?}"
    );
}
