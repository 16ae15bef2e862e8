//! Invoking plugins as a caller does, and the read-only routes that describe
//! the node (`/health`, `/info`, `/plugins`).

use std::time::{SystemTime, UNIX_EPOCH};

use flexcore_tests::TestGateway;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_returns_the_body_and_its_content_type() {
    let gw = TestGateway::start(|_| {}).await;
    let response = gw
        .client
        .post(gw.url("/plugins/echo/execute"))
        .header("content-type", "text/x-greeting; charset=utf-8")
        .body("hello, flexcore")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/x-greeting; charset=utf-8");
    assert_eq!(response.text().await.unwrap(), "hello, flexcore");

    // Large enough for the zero-copy path; every byte value, in order.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let response = gw.execute("echo", big.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.bytes().await.unwrap(), big);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_kept_when_sent_and_made_otherwise() {
    let gw = TestGateway::start(|_| {}).await;
    let response = gw
        .client
        .post(gw.url("/plugins/echo/execute"))
        .header("x-request-id", "caller-id-42")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "caller-id-42");

    let mut made = Vec::new();
    for _ in 0..2 {
        let response = gw.execute("echo", "x").await;
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(!id.is_empty() && id != "caller-id-42");
        made.push(id);
    }
    assert_ne!(made[0], made[1], "each request gets its own id");

    // An id that is not sane (too long) is replaced, not echoed.
    let long = "a".repeat(300);
    let response = gw
        .client
        .get(gw.url("/health"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(!id.is_empty() && id != long);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_names_the_node_and_its_duration() {
    let gw = TestGateway::start(|_| {}).await;
    for response in [
        gw.execute("echo", "x").await,
        gw.get("/health").await,
        gw.execute("no-such-plugin", "x").await,
    ] {
        let headers = response.headers();
        assert_eq!(headers["x-flexcore-node"], gw.node_id.as_str());
        let micros: u64 = headers["x-flexcore-duration-us"]
            .to_str()
            .unwrap()
            .parse()
            .expect("the duration is a whole number of microseconds");
        assert!(micros < 10_000_000, "{micros} µs");
        assert!(headers.contains_key("x-request-id"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_processor_answers_the_documented_shape() {
    let gw = TestGateway::start(|_| {}).await;
    let before = unix_seconds();
    let response = gw
        .client
        .post(gw.url("/plugins/data-processor/execute"))
        .header("content-type", "application/json")
        .body(r#"{"test_input":"real_data"}"#)
        .send()
        .await
        .unwrap();
    let after = unix_seconds();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = response.json().await.unwrap();

    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "processor_id",
            "processed_at",
            "input_received",
            "processing_stats",
            "output_data",
            "metadata"
        ]
    );
    assert_eq!(answer["processor_id"], "real-data-processor-v1.0");
    let processed_at = answer["processed_at"].as_u64().expect("an integer");
    assert!((before..=after).contains(&processed_at));
    assert_eq!(answer["input_received"], json!({"test_input": "real_data"}));
    let stats = &answer["processing_stats"];
    assert_eq!(stats["records_processed"], 1);
    assert!(stats["processing_time_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(stats["status"], "success");
    assert_eq!(
        answer["output_data"]["transformed_records"],
        json!([{
            "original_key": "test_input",
            "original_value": "real_data",
            "transformed_key": "processed_test_input",
            "transformed_value": "PROCESSED: real_data",
            "transformation_timestamp": processed_at,
        }])
    );
    let metadata = &answer["metadata"];
    assert_eq!(metadata["input_size_bytes"], 26);
    assert_eq!(metadata["type_counts"]["string"], 1);
    assert_eq!(metadata["type_counts"]["object"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_info_describe_the_node() {
    let gw = TestGateway::start(|_| {}).await;
    let health = gw.get_json("/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["node_id"], gw.node_id.as_str());
    assert_eq!(health["plugins_loaded"], 4);

    let info = gw.get_json("/info").await;
    assert_eq!(info["node_id"], gw.node_id.as_str());
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["abi_version"], "1.1");
    assert!(info["role"].is_string());
    assert!(info["uptime_seconds"].as_u64().unwrap() < 60);
    assert_eq!(info["plugins_loaded"], 4);
    assert_eq!(info["plugins_refused"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_lists_every_plugin_and_counts_its_calls() {
    let gw = TestGateway::start(|_| {}).await;
    let list = gw.get_json("/plugins").await;
    let names: Vec<&str> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-processor", "echo", "faulty", "wordcount"]);
    assert_eq!(list["refused"], json!([]));
    for (name, file) in [
        ("echo", "libecho.so"),
        ("data-processor", "libdata_processor.so"),
        ("faulty", "libfaulty.so"),
        ("wordcount", "libwordcount.so"),
    ] {
        let plugin = gw.plugin(name).await.unwrap();
        assert_eq!(plugin["version"], "1.0.0", "{name}");
        assert_eq!(plugin["abi_version"], "1.1", "{name}");
        let path = gw.plugin_dir().join(file);
        assert_eq!(plugin["file"], path.to_str().unwrap(), "{name}");
        assert_eq!(plugin["stats"]["invocations"], 0, "{name}");
    }

    for _ in 0..3 {
        assert_eq!(gw.execute("echo", "x").await.status(), 200);
    }
    assert_eq!(gw.execute("faulty", "error").await.status(), 500);
    let echo = gw.plugin("echo").await.unwrap();
    assert_eq!(echo["stats"]["invocations"], 3);
    assert_eq!(echo["stats"]["errors"], 0);
    let faulty = gw.plugin("faulty").await.unwrap();
    assert_eq!(faulty["stats"]["invocations"], 1);
    assert_eq!(faulty["stats"]["errors"], 1);
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}
