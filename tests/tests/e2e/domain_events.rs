//! Domain events travel the same path as published events: a subscription to
//! `flexcore.pipeline_created` sees pipelines being created, on one node.

use flexcore_tests::{TestGateway, wait};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_receives_the_gateways_own_domain_events() {
    let gateway = TestGateway::start(|_| {}).await;
    let subscribed = gateway
        .client
        .post(gateway.url("/subscriptions"))
        .json(&json!({"event_type": "flexcore.pipeline_created", "target": {"plugin": "echo"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 201);
    for name in ["first", "second"] {
        let created = gateway
            .client
            .post(gateway.url("/pipelines"))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    gateway.wait_for_invocations("echo", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_reach_their_subscribers_and_failures_are_dead_lettered() {
    let gateway = TestGateway::start(|config| {
        config.events.max_attempts = 3;
        config.events.retry_backoff = std::time::Duration::from_millis(20);
    })
    .await;
    for (event_type, plugin) in [("order.created", "echo"), ("order.broken", "no-such-plugin")] {
        let subscribed = gateway
            .client
            .post(gateway.url("/subscriptions"))
            .json(&json!({"event_type": event_type, "target": {"plugin": plugin}}))
            .send()
            .await
            .unwrap();
        assert_eq!(subscribed.status(), 201);
    }
    for n in 0..5 {
        let published = gateway
            .client
            .post(gateway.url("/events"))
            .json(&json!({"type": "order.created", "source": "shop", "data": {"n": n}}))
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 202);
        let id: serde_json::Value = published.json().await.unwrap();
        assert!(id["id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    gateway.wait_for_invocations("echo", 5).await;

    let published = gateway
        .client
        .post(gateway.url("/events"))
        .json(&json!({"type": "order.broken", "data": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 202);
    let every = std::time::Duration::from_millis(50);
    let dead = wait::until(std::time::Duration::from_secs(5), every, async || {
        let dead = gateway.get_json("/events/dead").await;
        if dead["dead_letters"].as_array().is_some_and(|d| !d.is_empty()) {
            Ok(dead)
        } else {
            Err(dead)
        }
    })
    .await
    .unwrap_or_else(|dead| dead);
    let letter = &dead["dead_letters"][0];
    assert_eq!(letter["event"]["type"], "order.broken");
    assert_eq!(letter["attempts"], 3);
    assert_eq!(letter["target"], "plugin:no-such-plugin");

    let bad = gateway
        .client
        .post(gateway.url("/events"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    flexcore_tests::assert_error(bad, 400, "invalid_request").await;
}
