//! A plugin that panics: the caller gets 500 `plugin_panicked`, the plugin is
//! re-initialised, and everything else keeps serving.

use std::time::Duration;

use flexcore_tests::{TestGateway, assert_error, wait};

/// Calls faulty with a harmless command until it answers 200 again (it may
/// answer 503 `plugin_unavailable` while it re-initialises); at most 2 s.
async fn wait_until_faulty_serves(gw: &TestGateway) {
    let served = wait::until(Duration::from_secs(2), Duration::from_millis(10), async || {
        let response = gw.execute("faulty", "are you back").await;
        match response.status().as_u16() {
            200 => {
                assert_eq!(response.text().await.unwrap(), "are you back");
                Ok(())
            }
            503 => {
                assert_error(response, 503, "plugin_unavailable").await;
                Err(())
            }
            other => panic!(
                "faulty answered {other} while recovering: {}",
                response.text().await.unwrap()
            ),
        }
    })
    .await;
    assert!(served.is_ok(), "faulty did not serve again within 2 s of a panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_500_and_the_plugin_comes_back() {
    let gw = TestGateway::start(|_| {}).await;
    let message = assert_error(gw.execute("faulty", "panic").await, 500, "plugin_panicked").await;
    assert!(message.contains("asked to panic"), "{message}");

    let echo = gw.execute("echo", "unaffected").await;
    assert_eq!(echo.status(), 200);
    assert_eq!(echo.text().await.unwrap(), "unaffected");
    wait_until_faulty_serves(&gw).await;

    // And it can panic and come back again.
    assert_error(gw.execute("faulty", "panic").await, 500, "plugin_panicked").await;
    wait_until_faulty_serves(&gw).await;
    assert_eq!(gw.get("/health").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_panics_do_not_take_the_gateway_down() {
    let gw = TestGateway::start(|_| {}).await;
    let calls: Vec<_> = (0..32).map(|_| gw.spawn_execute("faulty", "panic")).collect();
    let bystanders: Vec<_> = (0..16)
        .map(|i| (i, gw.spawn_execute("echo", format!("bystander {i}"))))
        .collect();
    let mut panicked = 0;
    for call in calls {
        let response = call.await.unwrap();
        match response.status().as_u16() {
            500 => {
                assert_error(response, 500, "plugin_panicked").await;
                panicked += 1;
            }
            503 => {
                assert_error(response, 503, "plugin_unavailable").await;
            }
            other => panic!("a panic call answered {other}"),
        }
    }
    assert!(panicked >= 1);
    for (i, call) in bystanders {
        let response = call.await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), format!("bystander {i}"));
    }

    assert_eq!(gw.get("/health").await.status(), 200);
    assert_eq!(gw.execute("echo", "x").await.status(), 200);
    wait_until_faulty_serves(&gw).await;
}
