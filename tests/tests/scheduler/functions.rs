//! Function targets: the call goes to a live gateway node, from the
//! configured list (skipping a dead one) or from Redis membership.

use std::time::Duration;

use flexcore_infra::cluster::{Keys, Member};
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
    let keys = Keys::new(&prefix);
    let heartbeat = {
        let pool = pool.clone();
        let keys = keys.clone();
        let address = gateway.url("");
        tokio::spawn(async move {
            loop {
                let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap();
                let mut conn = pool.get().await.unwrap();
                let live = Member {
                    node_id: "gw-1".into(),
                    address: address.clone(),
                    version: "0.1.0".into(),
                    plugins: vec!["echo".into(), "faulty".into()],
                    load: 0,
                    heartbeat_unix_ms: now,
                    role: "leader".into(),
                };
                let stale = Member {
                    node_id: "gw-0".into(),
                    address: format!("http://{dead}"),
                    plugins: vec!["echo".into()],
                    heartbeat_unix_ms: now - 60_000,
                    role: "follower".into(),
                    ..live.clone()
                };
                let _: () = redis::pipe()
                    .cmd("ZADD")
                    .arg(keys.nodes())
                    .arg(live.heartbeat_unix_ms)
                    .arg(&live.node_id)
                    .ignore()
                    .cmd("ZADD")
                    .arg(keys.nodes())
                    .arg(stale.heartbeat_unix_ms)
                    .arg(&stale.node_id)
                    .ignore()
                    .cmd("SET")
                    .arg(keys.node(&live.node_id))
                    .arg(serde_json::to_string(&live).unwrap())
                    .arg("PX")
                    .arg(3000)
                    .ignore()
                    .cmd("SET")
                    .arg(keys.node(&stale.node_id))
                    .arg(serde_json::to_string(&stale).unwrap())
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
        .arg(keys.nodes())
        .arg(keys.node("gw-1"))
        .arg(keys.node("gw-0"))
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
