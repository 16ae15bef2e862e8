//! A created pipeline is never lost: the gateway binary on PostgreSQL is
//! killed with SIGKILL (no shutdown, no flush), and a new process on the same
//! database serves every pipeline and execution record exactly as before.

use std::os::unix::process::ExitStatusExt;

use flexcore_tests::{GatewayProcess, TestDatabase};
use serde_json::{Value, json};

use super::{Api, id_of, json_of};

/// Everything a caller can read about the pipelines: the listing, each
/// pipeline, and each one's execution records.
async fn snapshot(api: &Api) -> Value {
    let listed = api.all("/pipelines?limit=2", "pipelines").await;
    let mut pipelines = Vec::new();
    for pipeline in &listed {
        let id = id_of(pipeline);
        pipelines.push(json!({
            "pipeline": api.pipeline(&id).await,
            "executions": api.all(&format!("/pipelines/{id}/executions?limit=2"), "executions").await,
        }));
    }
    json!({ "listed": listed, "pipelines": pipelines })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_and_runs_survive_kill_9() {
    let db = TestDatabase::create().await;
    let env = [("FLEXCORE_DATABASE_URL", db.url())];
    let mut first = GatewayProcess::spawn(&["--node-id", "durable-1"], &env).await;
    let api = Api::new(&first.client, first.addr);
    assert_eq!(api.get_json("/info").await["storage"], "postgres");

    let chain = id_of(&api.create_ok("chain", &["data-processor", "echo", "wordcount"]).await);
    json_of(api.action(&chain, "activate", None).await, 200).await;
    let flaky = id_of(&api.create_ok("flaky", &["echo", "faulty"]).await);
    let configured = json!({ "plugin": "echo", "config": { "nested": { "list": [1, 2.5, "three"] }, "on": true } });
    json_of(api.add_step(&flaky, &configured, None).await, 200).await;
    let empty = id_of(&api.create_ok("empty", &[]).await);
    let retired = id_of(&api.create_ok("retired", &["echo"]).await);
    for i in 0..3 {
        let response = api
            .execute(&chain, json!({ "run": i }).to_string(), "application/json")
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(api.execute(&flaky, "fine", "text/plain").await.status(), 200);
    assert_eq!(api.execute(&flaky, "error", "text/plain").await.status(), 500);
    assert_eq!(api.execute(&retired, "last words", "text/plain").await.status(), 200);
    json_of(api.action(&retired, "archive", None).await, 200).await;

    let before = snapshot(&api).await;
    let runs: usize = before["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["executions"].as_array().unwrap().len())
        .sum();
    assert_eq!(before["listed"].as_array().unwrap().len(), 4);
    assert_eq!(runs, 6, "every run was recorded: {before}");

    let status = first.kill().await;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "killed by SIGKILL: {status}");

    let second = GatewayProcess::spawn(&["--node-id", "durable-2"], &env).await;
    let api = Api::new(&second.client, second.addr);
    let after = snapshot(&api).await;
    assert_eq!(after, before, "the restarted gateway serves everything unchanged");

    // The records still say which node ran them, and the pipelines go on
    // from where they were.
    let chain_runs = api.all(&format!("/pipelines/{chain}/executions"), "executions").await;
    assert!(chain_runs.iter().all(|r| r["node_id"] == "durable-1"), "{chain_runs:?}");
    let added = api.add_step_ok(&empty, "echo").await;
    assert_eq!(added["version"], 1);
    let response = api.execute(&flaky, "again", "text/plain").await;
    assert_eq!(response.status(), 200);
    let runs = api.all(&format!("/pipelines/{flaky}/executions"), "executions").await;
    assert_eq!((runs.len(), &runs[0]["node_id"]), (3, &json!("durable-2")));
}
