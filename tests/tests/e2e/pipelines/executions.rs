//! Runs and their records: every run, succeeded or failed, leaves one
//! execution record (per-step durations, the failing step and its error, the
//! node), listed newest first in pages; a failed run answers with the
//! failing step's status, index and plugin. Plugins stay as they were.

use std::collections::HashSet;
use std::time::Duration;

use chrono::DateTime;
use serde_json::{Value, json};

use super::{Store, Subject, id_of, json_of};

fn execution_id(response: &reqwest::Response) -> String {
    let id = response
        .headers()
        .get("x-flexcore-execution-id")
        .unwrap_or_else(|| panic!("no x-flexcore-execution-id in {:?}", response.headers()))
        .to_str()
        .unwrap()
        .to_owned();
    uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("execution id {id} is not a UUID: {e}"));
    id
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id_of).collect()
}

async fn every_run_is_recorded(store: Store) {
    let s = Subject::start(store).await;
    let counting = s.api.create_ok("counting", &["echo", "wordcount"]).await;
    let counting_id = id_of(&counting);
    let mut made = Vec::new();
    for body in ["one", "one two", "one two three"] {
        let response = s.api.execute(&counting_id, body, "text/plain").await;
        assert_eq!(response.status(), 200);
        made.push(execution_id(&response));
        let words = body.split(' ').count();
        assert_eq!(response.json::<Value>().await.unwrap()["words"], words);
    }
    let runs = s
        .api
        .all(&format!("/pipelines/{counting_id}/executions"), "executions")
        .await;
    made.reverse();
    assert_eq!(ids(&runs), made, "one record per run, newest first");
    for run in &runs {
        assert_eq!(run["pipeline_id"], counting_id.as_str());
        assert_eq!(run["pipeline_version"], 0);
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["failed_step"], Value::Null);
        assert_eq!(run["error"], Value::Null);
        assert_eq!(run["node_id"], s.gw.node_id.as_str());
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 2, "{run}");
        for (index, (step, plugin)) in steps.iter().zip(["echo", "wordcount"]).enumerate() {
            assert_eq!(step["index"], index);
            assert_eq!(step["plugin"], plugin);
            assert!(step["duration_us"].is_u64(), "{step}");
            assert!(step.get("error").is_none_or(Value::is_null), "{step}");
        }
        let total = run["duration_us"].as_u64().unwrap();
        let summed: u64 = steps.iter().map(|s| s["duration_us"].as_u64().unwrap()).sum();
        assert!(
            total >= summed,
            "the run ({total} µs) lasts at least its steps ({summed} µs)"
        );
        let at = |field: &str| DateTime::parse_from_rfc3339(run[field].as_str().unwrap()).unwrap();
        assert!(at("started_at") <= at("finished_at"), "{run}");
    }

    // A run that fails at step 1 of 3: recorded with the step, its error,
    // and the steps that ran; the last step never ran.
    let failing = s.api.create_ok("failing", &["echo", "faulty", "wordcount"]).await;
    let failing_id = id_of(&failing);
    let ok = s.api.execute(&failing_id, "fine", "text/plain").await;
    assert_eq!(ok.status(), 200);
    let ok_id = execution_id(&ok);
    let failure = json_of(s.api.execute(&failing_id, "error", "text/plain").await, 500).await;
    assert_eq!(failure["error"]["code"], "pipeline_step_failed", "{failure}");
    let message = failure["error"]["message"].as_str().unwrap();
    assert!(message.contains("faulty"), "the message names the plugin: {message}");
    let runs = s
        .api
        .all(&format!("/pipelines/{failing_id}/executions"), "executions")
        .await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(id_of(&runs[1]), ok_id);
    let failed = &runs[0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failed_step"], 1);
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("faulty: asked to fail"), "{error}");
    let steps = failed["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "wordcount never ran: {failed}");
    assert!(steps[0].get("error").is_none_or(Value::is_null), "{failed}");
    assert_eq!(steps[1]["plugin"], "faulty");
    assert!(
        steps[1]["error"].as_str().unwrap().contains("faulty: asked to fail"),
        "{failed}"
    );
    assert_eq!(runs[1]["status"], "succeeded");
    assert_eq!(runs[1]["steps"].as_array().unwrap().len(), 3);
    if let Some(rows) = s.rows("pipeline_executions").await {
        assert_eq!(rows, 5, "every run is a row of the database");
    }
}

/// The error object of a failed run names the step, its plugin and the
/// execution record, and its status is the failing step's.
async fn failed_runs_name_the_failing_step(store: Store) {
    let s = Subject::start(store).await;
    let second = id_of(&s.api.create_ok("second-fails", &["echo", "faulty"]).await);
    let first = id_of(&s.api.create_ok("first-fails", &["faulty", "echo"]).await);
    let last = id_of(&s.api.create_ok("last-fails", &["echo", "echo", "faulty"]).await);
    let cases = [
        (&second, "error", 500, 1),
        (&second, "unavailable", 503, 1),
        (&first, "invalid", 400, 0),
        (&last, "error", 500, 2),
    ];
    for (pipeline, command, status, step) in cases {
        let response = s.api.execute(pipeline, command, "text/plain").await;
        let body = json_of(response, status).await;
        let error = &body["error"];
        assert_eq!(error["code"], "pipeline_step_failed", "{body}");
        assert_eq!(error["step"], step, "the error names the failing step: {body}");
        assert_eq!(error["plugin"], "faulty", "the error names the failing plugin: {body}");
        let execution = error["execution_id"]
            .as_str()
            .unwrap_or_else(|| panic!("the error names the execution record: {body}"));
        let runs = s
            .api
            .all(&format!("/pipelines/{pipeline}/executions"), "executions")
            .await;
        assert_eq!(id_of(&runs[0]), execution, "{runs:?}");
        assert_eq!(runs[0]["failed_step"], step);
    }
}

async fn executions_page_newest_first(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("paged", &["echo"]).await);
    let other = id_of(&s.api.create_ok("other", &["echo"]).await);
    assert_eq!(
        s.api.get_json(&format!("/pipelines/{id}/executions")).await,
        json!({ "executions": [], "next_cursor": null })
    );
    let mut made = Vec::new();
    for i in 0..5 {
        let response = s.api.execute(&id, format!("run {i}"), "text/plain").await;
        assert_eq!(response.status(), 200);
        made.push(execution_id(&response));
        assert_eq!(s.api.execute(&other, "elsewhere", "text/plain").await.status(), 200);
    }
    made.reverse();
    let pages = s
        .api
        .pages(&format!("/pipelines/{id}/executions?limit=2"), "executions")
        .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(ids(&pages.concat()), made, "only this pipeline's runs, newest first");
    let page = s
        .api
        .get_json(&format!("/pipelines/{id}/executions?limit=2&cursor={}", made[1]))
        .await;
    assert_eq!(ids(page["executions"].as_array().unwrap()), &made[2..4]);
    assert_eq!(page["next_cursor"].as_str(), Some(made[3].as_str()));
}

/// Runs are listed by when they started, and paging never skips one, even
/// when a later run finishes first.
async fn runs_that_finish_out_of_order_page_correctly(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("slow-and-fast", &["faulty"]).await);
    let slow = {
        let api = s.api.clone();
        let id = id.clone();
        tokio::spawn(async move { api.execute(&id, "sleep 700", "text/plain").await })
    };
    s.gw.wait_for_invocations("faulty", 1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fast = s.api.execute(&id, "quick", "text/plain").await;
    assert_eq!(fast.status(), 200);
    let fast_id = execution_id(&fast);
    let slow = slow.await.unwrap();
    assert_eq!(slow.status(), 200);
    let slow_id = execution_id(&slow);

    let pages = s
        .api
        .pages(&format!("/pipelines/{id}/executions?limit=1"), "executions")
        .await;
    let listed = ids(&pages.concat());
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "no run listed twice: {listed:?}");
    assert_eq!(listed, [fast_id, slow_id], "both runs, the later-started first");
}

/// Pipelines call plugins through the same host, and leave `/plugins` as it
/// was: the same plugins, files and refusals; their calls are counted.
async fn plugins_are_unaffected(store: Store) {
    let s = Subject::start(store).await;
    let before = s.gw.get_json("/plugins").await;
    let id = id_of(&s.api.create_ok("doubled", &["echo", "echo", "wordcount"]).await);
    for _ in 0..3 {
        assert_eq!(s.api.execute(&id, "a b", "text/plain").await.status(), 200);
    }
    let after = s.gw.get_json("/plugins").await;
    assert_eq!(after["refused"], before["refused"]);
    assert_eq!(after["refused"], json!([]));
    let plugins = |list: &Value| -> Vec<Value> {
        list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.as_object_mut().unwrap().remove("stats");
                p
            })
            .collect()
    };
    assert_eq!(plugins(&after), plugins(&before));
    let names: Vec<&str> = after["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-processor", "echo", "faulty", "wordcount"]);
    let calls = |name: &str| {
        after["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["stats"]["invocations"].as_u64().unwrap())
    };
    assert_eq!(calls("echo"), Some(6), "two echo steps, three runs");
    assert_eq!(calls("wordcount"), Some(3));
    assert_eq!(calls("faulty"), Some(0));

    let direct = s.gw.execute("echo", "still direct").await;
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.text().await.unwrap(), "still direct");
}

super::on_both_stores!(
    every_run_is_recorded,
    failed_runs_name_the_failing_step,
    executions_page_newest_first,
    runs_that_finish_out_of_order_page_correctly,
    plugins_are_unaffected,
);
