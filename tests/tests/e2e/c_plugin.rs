//! The wordcount plugin, written in C against `flexcore.h` alone, served like
//! any other.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flexcore_tests::TestGateway;
use flexcore_tests::c_plugins::INSPECT;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordcount_counts_bytes_words_and_lines() {
    let gw = TestGateway::start(|_| {}).await;
    for (body, bytes, words, lines) in [
        ("hello world\nfoo", 15, 3, 2),
        ("hello world\n", 12, 2, 1),
        ("", 0, 0, 0),
        ("a", 1, 1, 1),
        ("\n\n\n", 3, 0, 3),
        ("  tabs\tand\x0bvertical\x0cfeeds\r\n  ", 29, 4, 2),
        ("héllo wörld", 13, 2, 1),
    ] {
        let response = gw.execute("wordcount", body).await;
        assert_eq!(response.status(), 200, "{body:?}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let counts: Value = response.json().await.unwrap();
        assert_eq!(
            counts,
            json!({"bytes": bytes, "words": words, "lines": lines}),
            "{body:?}"
        );
    }
    let wordcount = gw.plugin("wordcount").await.unwrap();
    assert_eq!(wordcount["version"], "1.0.0");
    assert_eq!(wordcount["thread_safe"], true);
    assert_eq!(wordcount["stats"]["invocations"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordcount_counts_a_large_body() {
    let gw = TestGateway::start(|_| {}).await;
    let line = "the quick brown fox\n";
    let body = line.repeat(50_000);
    let response = gw.execute("wordcount", body.clone()).await;
    assert_eq!(response.status(), 200);
    let counts: Value = response.json().await.unwrap();
    assert_eq!(counts, json!({"bytes": body.len(), "words": 200_000, "lines": 50_000}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_receives_the_request_id_content_type_deadline_and_its_config() {
    let dir = flexcore_tests::plugin_dir();
    flexcore_tests::compile_c(dir.path(), "libinspect", INSPECT);
    let gw = TestGateway::start_in(dir, |c| {
        c.invoke_timeout = Duration::from_secs(5);
        let settings = HashMap::from([("greeting".to_owned(), "bonjour".to_owned())]);
        c.plugins.insert("inspect".into(), settings);
    })
    .await;

    let before = unix_ms();
    let response = gw
        .client
        .post(gw.url("/plugins/inspect/execute"))
        .header("x-request-id", "trace-7f00")
        .header("content-type", "text/csv")
        .body("a,b,c")
        .send()
        .await
        .unwrap();
    let after = unix_ms();
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["request_id"], "trace-7f00");
    assert_eq!(seen["content_type"], "text/csv");
    assert_eq!(seen["body_len"], 5);
    assert_eq!(seen["greeting"], "bonjour");
    let deadline = seen["deadline_unix_ms"].as_u64().unwrap();
    assert!(
        (before + 4_900..=after + 5_100).contains(&deadline),
        "deadline {deadline} is not 5 s after the call ({before}..{after})"
    );

    // Without an id from the caller, the plugin sees the one the caller gets back.
    let response = gw.execute("inspect", "").await;
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["request_id"], id.as_str());
    assert_eq!(seen["content_type"], "");
}

fn unix_ms() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_millis()).unwrap()
}
