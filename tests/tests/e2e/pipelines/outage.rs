//! When PostgreSQL goes away, requests that need it answer 503
//! `database_unavailable` (never 500, and quickly), plugin invocations go on
//! as if nothing happened, and once the database is back the gateway
//! recovers by itself within 5 s, with no restart.
//!
//! Two ways of losing it: every connection of the gateway terminated by the
//! server (`pg_terminate_backend`, on the shared server), and a real outage
//! of a [`PrivateCluster`] stopped and started again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flexcore_infra::Secret;
use flexcore_tests::{PrivateCluster, TestDatabase, TestGateway, assert_error, wait};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{Api, id_of, json_of};

/// How long the gateway may take to serve pipelines again.
const RECOVERY: Duration = Duration::from_secs(5);

/// Calls `echo` in a loop until `stop`; returns how many calls answered 200,
/// and every other answer.
fn keep_invoking(gw: &TestGateway, stop: Arc<AtomicBool>) -> JoinHandle<(usize, Vec<String>)> {
    let client = gw.client.clone();
    let url = gw.url("/plugins/echo/execute");
    tokio::spawn(async move {
        let (mut ok, mut failures) = (0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            match client.post(&url).body("ping").send().await {
                Ok(r) if r.status() == 200 && started.elapsed() < Duration::from_secs(1) => {
                    let body = r.text().await.unwrap_or_default();
                    if body == "ping" {
                        ok += 1;
                    } else {
                        failures.push(format!("echo answered {body:?}"));
                    }
                }
                Ok(r) => failures.push(format!("echo answered {} after {:?}", r.status(), started.elapsed())),
                Err(e) => failures.push(format!("echo failed: {e}")),
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        (ok, failures)
    })
}

/// What one pipeline request answered.
#[derive(Debug)]
struct Answer {
    what: &'static str,
    /// The name a `create` asked for.
    name: Option<String>,
    status: u16,
    code: Option<String>,
    took: Duration,
}

async fn answer(what: &'static str, response: reqwest::Response, took: Duration) -> Answer {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Answer {
        what,
        name: None,
        status,
        code: body["error"]["code"].as_str().map(str::to_owned),
        took,
    }
}

/// One of every kind of pipeline request: read, list, run, list runs, create.
async fn pipeline_requests(api: &Api, id: &str, name: &str) -> Vec<Answer> {
    let mut answers = Vec::new();
    let started = Instant::now();
    let response = api.get(id).await;
    answers.push(answer("get", response, started.elapsed()).await);
    let started = Instant::now();
    let response = Api::send(api.request(reqwest::Method::GET, "/pipelines", None)).await;
    answers.push(answer("list", response, started.elapsed()).await);
    let started = Instant::now();
    let response = api.execute(id, "a b c", "text/plain").await;
    answers.push(answer("execute", response, started.elapsed()).await);
    let started = Instant::now();
    let path = format!("/pipelines/{id}/executions");
    let response = Api::send(api.request(reqwest::Method::GET, &path, None)).await;
    answers.push(answer("executions", response, started.elapsed()).await);
    let started = Instant::now();
    let response = api
        .create(&json!({ "name": name, "steps": [{ "plugin": "echo" }] }))
        .await;
    let mut created = answer("create", response, started.elapsed()).await;
    created.name = Some(name.to_owned());
    answers.push(created);
    answers
}

/// Polls a pipeline until it reads 200; panics if that takes over [`RECOVERY`].
async fn wait_recovered(api: &Api, id: &str, since: Instant) -> Duration {
    let within = RECOVERY.saturating_sub(since.elapsed());
    let recovered = wait::until(within, Duration::from_millis(50), async || {
        let response = api.get(id).await;
        if response.status() == 200 {
            return Ok(since.elapsed());
        }
        let status = response.status().as_u16();
        assert_eq!(status, 503, "while recovering: {}", response.text().await.unwrap());
        Err(())
    })
    .await;
    recovered.unwrap_or_else(|()| panic!("pipelines still answer 503 after {RECOVERY:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_are_replaced_without_a_restart() {
    let db = TestDatabase::create().await;
    let url = db.url().to_owned();
    let gw = TestGateway::start(|c| {
        c.database_url = Some(Secret::new(url));
        c.database_pool_size = 4;
    })
    .await;
    let api = Api::new(&gw.client, gw.addr);
    let id = id_of(&api.create_ok("steady", &["echo", "wordcount"]).await);
    let before = api.pipeline(&id).await;

    let stop = Arc::new(AtomicBool::new(false));
    let invoking = keep_invoking(&gw, Arc::clone(&stop));
    let pipelines = {
        let (api, id, stop) = (api.clone(), id.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                answers.extend(pipeline_requests(&api, &id, &format!("during-{round}")).await);
                round += 1;
            }
            answers
        })
    };

    let mut last_cut = Instant::now();
    for cut in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let terminated = db.terminate_connections().await;
        last_cut = Instant::now();
        assert!(terminated > 0, "cut {cut}: the gateway had no connection to terminate");
    }
    let recovered = wait_recovered(&api, &id, last_cut).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (echoes, echo_failures) = invoking.await.unwrap();
    let answers = pipelines.await.unwrap();

    assert!(echo_failures.is_empty(), "plugin calls failed: {echo_failures:?}");
    assert!(echoes > 50, "only {echoes} plugin calls in about a second");
    let wrong: Vec<&Answer> = answers
        .iter()
        .filter(|a| match a.status {
            200 | 201 => false,
            503 => a.code.as_deref() != Some("database_unavailable"),
            _ => true,
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "pipeline requests answered neither 2xx nor 503: {wrong:?}"
    );
    assert!(answers.len() > 20, "{answers:?}");
    println!(
        "{} pipeline requests, {} answered 503; recovered {recovered:?} after the last cut",
        answers.len(),
        answers.iter().filter(|a| a.status == 503).count()
    );

    // Nothing the gateway acknowledged was lost.
    let listed: Vec<Value> = api
        .all("/pipelines", "pipelines")
        .await
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    for created in answers.iter().filter(|a| a.status == 201) {
        let name = Value::from(created.name.clone());
        assert!(listed.contains(&name), "{name} was created (201) but is not listed");
    }
    assert_eq!(api.pipeline(&id).await, before);
    assert_eq!(api.execute(&id, "back", "text/plain").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_503_and_its_return_is_noticed() {
    let cluster = PrivateCluster::start().await;
    let url = cluster.url();
    let gw = TestGateway::start(|c| c.database_url = Some(Secret::new(url))).await;
    let api = Api::new(&gw.client, gw.addr);
    let id = id_of(&api.create_ok("weathered", &["echo", "wordcount"]).await);
    assert_eq!(api.execute(&id, "before", "text/plain").await.status(), 200);
    let before = api.pipeline(&id).await;

    cluster.stop().await;
    for attempt in 0..2 {
        for answer in pipeline_requests(&api, &id, &format!("during-{attempt}")).await {
            assert_eq!(
                (answer.status, answer.code.as_deref()),
                (503, Some("database_unavailable")),
                "{} with the database down: {answer:?}",
                answer.what
            );
            assert!(
                answer.took < Duration::from_secs(5),
                "{} took too long: {answer:?}",
                answer.what
            );
        }
        let started = Instant::now();
        let echo = gw.execute("echo", "still here").await;
        assert_eq!(echo.status(), 200, "plugins serve with the database down");
        assert_eq!(echo.text().await.unwrap(), "still here");
        assert!(started.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_error(
        api.add_step(&id, &json!({ "plugin": "echo" }), None).await,
        503,
        "database_unavailable",
    )
    .await;

    cluster.restart().await;
    let recovered = wait_recovered(&api, &id, Instant::now()).await;
    println!("recovered {recovered:?} after the server was back");
    assert_eq!(api.pipeline(&id).await, before, "the pipeline is as it was");
    assert_eq!(api.execute(&id, "after", "text/plain").await.status(), 200);
    let runs = api.all(&format!("/pipelines/{id}/executions"), "executions").await;
    assert_eq!(runs.len(), 2, "the runs before and after; none while down: {runs:?}");
    json_of(api.create(&json!({ "name": "after-the-outage" })).await, 201).await;
}
