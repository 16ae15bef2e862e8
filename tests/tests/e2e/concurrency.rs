//! Slow plugins: calls that block must not stall anyone else, and a call past
//! the deadline is answered 504 without waiting for the plugin.

use std::time::{Duration, Instant};

use flexcore_tests::c_plugins::SLOWPOKE;
use flexcore_tests::{TestGateway, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_calls_do_not_stall_other_requests() {
    let gw = TestGateway::start(|_| {}).await;
    let sleepers: Vec<_> = (0..4).map(|_| gw.spawn_execute("faulty", "sleep 1000")).collect();
    gw.wait_for_invocations("faulty", 4).await;

    let started = Instant::now();
    let health = gw.get("/health").await;
    let health_took = started.elapsed();
    assert_eq!(health.status(), 200);

    let started = Instant::now();
    let echo = gw.execute("echo", "quick").await;
    let echo_took = started.elapsed();
    assert_eq!(echo.status(), 200);
    assert_eq!(echo.text().await.unwrap(), "quick");

    assert!(
        health_took < Duration::from_millis(200),
        "/health took {health_took:?} with 4 slow calls in flight"
    );
    assert!(
        echo_took < Duration::from_millis(200),
        "echo took {echo_took:?} with 4 slow calls in flight"
    );

    for sleeper in sleepers {
        let response = sleeper.await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "slept 1000");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_the_deadline_is_504() {
    let gw = TestGateway::start(|c| c.invoke_timeout = Duration::from_millis(300)).await;
    let started = Instant::now();
    let response = gw.execute("faulty", "sleep 2000").await;
    let took = started.elapsed();
    let message = assert_error(response, 504, "deadline_exceeded").await;
    assert!(message.contains("300"), "{message}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1000),
        "the 504 came after {took:?}"
    );

    let faulty = gw.plugin("faulty").await.unwrap();
    assert_eq!(faulty["stats"]["errors"], 1, "the timeout counts as an error");

    // The plugin keeps serving calls within the deadline.
    let response = gw.execute("faulty", "sleep 10").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "slept 10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_all_get_their_own_answer() {
    let gw = TestGateway::start(|_| {}).await;
    let calls: Vec<_> = (0..64)
        .map(|i| {
            let plugin = ["echo", "faulty", "wordcount"][i % 3];
            (i, plugin, gw.spawn_execute(plugin, format!("call {i}")))
        })
        .collect();
    for (i, plugin, call) in calls {
        let response = call.await.unwrap();
        assert_eq!(response.status(), 200, "{plugin} call {i}");
        let body = response.text().await.unwrap();
        let expected = if plugin == "wordcount" {
            format!(r#"{{"bytes":{},"words":2,"lines":1}}"#, format!("call {i}").len())
        } else {
            format!("call {i}")
        };
        assert_eq!(body, expected, "{plugin} call {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_seen_blocking_three_times_in_a_row_moves_to_the_blocking_pool() {
    let dir = flexcore_tests::plugin_dir();
    flexcore_tests::compile_c(dir.path(), "libslowpoke", SLOWPOKE);
    let gw = TestGateway::start_in(dir, |c| {
        c.slow_call_threshold = Duration::from_millis(20);
    })
    .await;
    let offloaded = |p: Option<serde_json::Value>| p.unwrap()["runs_on_blocking_pool"].clone();
    assert_eq!(offloaded(gw.plugin("slowpoke").await), false);
    assert_eq!(gw.execute("slowpoke", "0").await.status(), 200);
    assert_eq!(offloaded(gw.plugin("slowpoke").await), false, "a fast call");

    // One slow call may be a preempted one: it takes three in a row.
    assert_eq!(gw.execute("slowpoke", "100").await.status(), 200);
    assert_eq!(offloaded(gw.plugin("slowpoke").await), false, "one slow call");
    for _ in 0..2 {
        assert_eq!(gw.execute("slowpoke", "100").await.status(), 200);
    }
    assert_eq!(
        offloaded(gw.plugin("slowpoke").await),
        true,
        "three slow calls in a row"
    );

    let sleepers: Vec<_> = (0..4).map(|_| gw.spawn_execute("slowpoke", "1000")).collect();
    gw.wait_for_invocations("slowpoke", 8).await;
    let started = Instant::now();
    assert_eq!(gw.get("/health").await.status(), 200);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(200), "/health took {took:?}");
    for sleeper in sleepers {
        assert_eq!(sleeper.await.unwrap().text().await.unwrap(), "ok");
    }
}
