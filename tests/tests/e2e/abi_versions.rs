//! The ABI's compatibility promise, as a plugin author relies on it: a plugin
//! built for an older minor keeps loading, one built for a newer minor is
//! refused with the reason, and ABI 1.1's per-call settings reach plugins.

use flexcore_tests::{TestGateway, compile_c, plugin_dir};
use serde_json::{Value, json};

/// An echo plugin that declares ABI `1.<minor>` and reads nothing past the
/// 1.0 request (as a plugin compiled against the 1.0 header would).
fn echo_declaring_minor(name: &str, minor: u16) -> String {
    format!(
        r#"
#include <stdlib.h>
#include <string.h>
#include "flexcore.h"

static flexcore_status invoke(void *instance, const flexcore_request *req, flexcore_response *resp) {{
    (void)instance;
    uint8_t *out = malloc(req->body_len ? req->body_len : 1);
    if (!out) return FLEXCORE_STATUS_UNAVAILABLE;
    if (req->body_len) memcpy(out, req->body, req->body_len);
    resp->body = out;
    resp->body_len = req->body_len;
    return FLEXCORE_STATUS_OK;
}}

static void free_response(void *instance, flexcore_response *resp) {{
    (void)instance;
    free((void *)resp->body);
}}

static const flexcore_plugin DESCRIPTOR = {{
    .struct_size = sizeof(flexcore_plugin),
    .abi_major = 1,
    .abi_minor = {minor},
    .name = "{name}",
    .version = "1.0.0",
    .flags = FLEXCORE_FLAG_THREAD_SAFE,
    .invoke = invoke,
    .free_response = free_response,
}};

FLEXCORE_EXPORT const flexcore_plugin *flexcore_plugin_entry_v1(uint16_t major, uint16_t minor) {{
    (void)minor;
    return major == 1 ? &DESCRIPTOR : NULL;
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_for_abi_1_0_still_loads_and_serves() {
    let dir = plugin_dir();
    compile_c(dir.path(), "libold", &echo_declaring_minor("old", 0));
    let gateway = TestGateway::start_in(dir, |_| {}).await;
    let plugin = gateway.plugin("old").await.expect("the 1.0 plugin is loaded");
    assert_eq!(plugin["abi_version"], "1.0");
    let response = gateway.execute("old", "still here").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_for_a_newer_minor_is_refused_with_the_reason() {
    let dir = plugin_dir();
    compile_c(dir.path(), "libfuture", &echo_declaring_minor("future", 9));
    let gateway = TestGateway::start_in(dir, |_| {}).await;
    assert!(gateway.plugin("future").await.is_none());
    let plugins = gateway.get_json("/plugins").await;
    let refused = plugins["refused"].as_array().unwrap();
    let reason = refused
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with("libfuture.so"))
        .expect("the newer plugin is listed as refused")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("1.9") && reason.contains("newer"), "{reason}");
    assert_eq!(gateway.execute("echo", "others serve").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_step_config_reaches_its_plugin() {
    let gateway = TestGateway::start(|_| {}).await;
    let config = json!({"greeting": "hello", "times": 3});
    let created: Value = gateway
        .client
        .post(gateway.url("/pipelines"))
        .json(&json!({"name": "configured", "steps": [{"plugin": "faulty", "config": config}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let response = gateway
        .client
        .post(gateway.url(&format!("/pipelines/{id}/execute")))
        .body("config")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen, config);
    // A direct call has no settings.
    let direct = gateway.execute("faulty", "config").await;
    assert_eq!(direct.text().await.unwrap(), "");
}
