//! Bearer tokens: invoking needs an invoke or admin token, reloading an admin
//! token, `/health` stays open, and no token ever shows in a log or a body.

use std::time::Duration;

use flexcore_infra::Secret;
use flexcore_tests::{GatewayProcess, TestGateway, assert_error};

const INVOKE_TOKEN: &str = "invoke-token-5f3a9c";
const ADMIN_TOKEN: &str = "admin-token-8e21d7";
const WRONG_TOKEN: &str = "wrong-token-000000";

async fn gateway_with_tokens() -> TestGateway {
    TestGateway::start(|c| {
        c.auth.invoke_tokens = vec![Secret::new(INVOKE_TOKEN)];
        c.auth.admin_tokens = vec![Secret::new(ADMIN_TOKEN)];
    })
    .await
}

/// `method path` with `Authorization: Bearer <token>` when a token is given.
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = client.request(method, url).body("payload");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoking_needs_an_invoke_or_admin_token() {
    let gw = gateway_with_tokens().await;
    let url = gw.url("/plugins/echo/execute");
    for token in [None, Some(WRONG_TOKEN), Some("")] {
        let response = call(&gw.client, reqwest::Method::POST, url.clone(), token).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, 401, "unauthorized").await;
    }
    // A scheme other than Bearer is not accepted either.
    let response = gw
        .client
        .post(url.clone())
        .header("authorization", format!("Basic {INVOKE_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;

    for token in [INVOKE_TOKEN, ADMIN_TOKEN] {
        let response = call(&gw.client, reqwest::Method::POST, url.clone(), Some(token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "payload");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_needs_an_admin_token_and_health_stays_open() {
    let gw = gateway_with_tokens().await;
    let url = gw.url("/plugins/reload");
    for token in [None, Some(WRONG_TOKEN), Some(INVOKE_TOKEN)] {
        let response = call(&gw.client, reqwest::Method::POST, url.clone(), token).await;
        let message = assert_error(response, 401, "unauthorized").await;
        assert!(!message.contains(INVOKE_TOKEN) && !message.contains(WRONG_TOKEN));
    }
    let response = call(&gw.client, reqwest::Method::POST, url, Some(ADMIN_TOKEN)).await;
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.unwrap();
    assert!(report["unchanged"].as_array().unwrap().len() == 4, "{report}");

    let health = gw.get("/health").await;
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_the_log() {
    let tokens = [
        ("FLEXCORE_INVOKE_TOKENS", INVOKE_TOKEN),
        ("FLEXCORE_ADMIN_TOKENS", ADMIN_TOKEN),
        ("FLEXCORE_LOG_LEVEL", "trace"),
    ];
    let mut gw = GatewayProcess::spawn(&[], &tokens).await;
    let execute = gw.url("/plugins/echo/execute");
    let reload = gw.url("/plugins/reload");
    for (url, token, status) in [
        (&execute, Some(INVOKE_TOKEN), 200),
        (&execute, Some(ADMIN_TOKEN), 200),
        (&execute, Some(WRONG_TOKEN), 401),
        (&execute, None, 401),
        (&reload, Some(INVOKE_TOKEN), 401),
        (&reload, Some(ADMIN_TOKEN), 200),
    ] {
        let response = call(&gw.client, reqwest::Method::POST, url.clone(), token).await;
        assert_eq!(response.status(), status, "{url} with {token:?}");
        let body = response.text().await.unwrap();
        assert!(!body.contains(INVOKE_TOKEN) && !body.contains(ADMIN_TOKEN));
    }
    gw.terminate();
    assert!(gw.wait_exit(Duration::from_secs(10)).await.success());
    let log = gw.stderr() + &gw.stdout();
    assert!(log.contains("listening"), "the log was captured: {log}");
    for secret in [INVOKE_TOKEN, ADMIN_TOKEN, WRONG_TOKEN] {
        assert!(!log.contains(secret), "{secret} appears in the log:\n{log}");
    }
}
