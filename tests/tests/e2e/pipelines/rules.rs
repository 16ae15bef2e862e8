//! Every rule and status code of `/pipelines`: 422 with the rule's name when
//! a change would break a rule (404 for a step that is not there), 409 for a
//! taken name or a stale `If-Match`, 400 for what cannot be parsed, 404 for
//! an unknown id. A refused change changes nothing.

use flexcore_tests::assert_error;
use serde_json::{Value, json};

use super::{Store, Subject, id_of, json_of, plugins_of};

async fn names_are_1_to_128_printable_characters_and_unique(store: Store) {
    let s = Subject::start(store).await;
    let invalid = [
        String::new(),
        "   ".into(),
        "a".repeat(129),
        "é".repeat(129),
        "tab\there".into(),
        "new\nline".into(),
        "nul\u{0}byte".into(),
        "del\u{7f}".into(),
        "c1\u{85}control".into(),
    ];
    for name in &invalid {
        let response = s.api.create(&json!({ "name": name })).await;
        assert_error(response, 422, "invalid_name").await;
    }
    let valid = ["a".repeat(128), "é".repeat(128), "Orders – EU 🚀".into(), "x".into()];
    for name in &valid {
        let created = json_of(s.api.create(&json!({ "name": name })).await, 201).await;
        assert_eq!(&created["name"], name);
    }

    assert_error(s.api.create(&json!({ "name": "x" })).await, 409, "name_taken").await;
    assert_error(
        s.api
            .create(&json!({ "name": "Orders – EU 🚀", "steps": [{ "plugin": "echo" }] }))
            .await,
        409,
        "name_taken",
    )
    .await;
    let names: Vec<Value> = s
        .api
        .all("/pipelines", "pipelines")
        .await
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(
        names,
        valid.map(Value::from),
        "only the valid names were stored, once each"
    );
}

async fn steps_name_loaded_plugins(store: Store) {
    let s = Subject::start(store).await;
    let response = s
        .api
        .create(&json!({ "name": "ghost", "steps": [{ "plugin": "echo" }, { "plugin": "nope" }] }))
        .await;
    let message = assert_error(response, 422, "unknown_plugin").await;
    assert!(message.contains("nope"), "{message}");
    assert!(
        s.api.all("/pipelines", "pipelines").await.is_empty(),
        "nothing was created"
    );

    let id = id_of(&s.api.create_ok("ghost", &["echo"]).await);
    for plugin in ["nope", "../libecho", "libecho.so", "ECHO", ""] {
        let response = s.api.add_step(&id, &json!({ "plugin": plugin }), None).await;
        assert_error(response, 422, "unknown_plugin").await;
    }
    let stored = s.api.pipeline(&id).await;
    assert_eq!(
        (stored["version"].as_u64(), plugins_of(&stored)),
        (Some(0), vec!["echo".to_owned()])
    );
}

async fn a_pipeline_has_at_most_64_steps(store: Store) {
    let s = Subject::start(store).await;
    let steps = |n: usize| vec![json!({ "plugin": "echo" }); n];
    let response = s.api.create(&json!({ "name": "long", "steps": steps(65) })).await;
    assert_error(response, 422, "too_many_steps").await;

    let full = json_of(s.api.create(&json!({ "name": "long", "steps": steps(64) })).await, 201).await;
    let id = id_of(&full);
    let response = s.api.add_step(&id, &json!({ "plugin": "echo" }), None).await;
    assert_error(response, 422, "too_many_steps").await;
    let stored = s.api.pipeline(&id).await;
    assert_eq!(stored["steps"].as_array().unwrap().len(), 64);
    assert_eq!(stored["version"], 0);

    // Sixty-four echoes in a row still hand the body through.
    let response = s.api.execute(&id, "through 64 steps", "text/plain").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "through 64 steps");

    let almost = json_of(
        s.api.create(&json!({ "name": "almost", "steps": steps(63) })).await,
        201,
    )
    .await;
    let id = id_of(&almost);
    assert_eq!(
        s.api.add_step_ok(&id, "echo").await["steps"].as_array().unwrap().len(),
        64
    );
    let response = s.api.add_step(&id, &json!({ "plugin": "echo" }), None).await;
    assert_error(response, 422, "too_many_steps").await;
}

async fn an_empty_pipeline_does_not_run(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("empty", &[]).await);
    assert_error(s.api.execute(&id, "x", "text/plain").await, 422, "pipeline_empty").await;
    s.api.add_step_ok(&id, "echo").await;
    json_of(s.api.remove_step(&id, "0", None).await, 200).await;
    assert_error(s.api.execute(&id, "x", "text/plain").await, 422, "pipeline_empty").await;
    let runs = s.api.all(&format!("/pipelines/{id}/executions"), "executions").await;
    assert!(runs.is_empty(), "a refused run leaves no record: {runs:?}");
}

async fn step_indexes_must_exist(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("indexed", &["echo", "wordcount"]).await);
    for index in ["2", "64", "4294967296"] {
        assert_error(s.api.remove_step(&id, index, None).await, 404, "no_such_step").await;
    }
    for index in ["abc", "-1", "1.0", "99999999999999999999999"] {
        assert_error(s.api.remove_step(&id, index, None).await, 400, "invalid_request").await;
    }
    let stored = s.api.pipeline(&id).await;
    assert_eq!((stored["version"].as_u64(), plugins_of(&stored).len()), (Some(0), 2));
    let removed = json_of(s.api.remove_step(&id, "1", None).await, 200).await;
    assert_eq!(plugins_of(&removed), ["echo"]);
}

async fn a_stale_if_match_is_a_conflict(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("guarded", &[]).await);
    let echo = json!({ "plugin": "echo" });

    let first = json_of(s.api.add_step(&id, &echo, Some("0")).await, 200).await;
    assert_eq!(first["version"], 1);
    let message = assert_error(s.api.add_step(&id, &echo, Some("0")).await, 409, "version_conflict").await;
    assert!(
        message.contains('0') && message.contains('1'),
        "names both versions: {message}"
    );
    let stored = s.api.pipeline(&id).await;
    assert_eq!((stored["version"].as_u64(), plugins_of(&stored).len()), (Some(1), 1));

    // The forms of an entity tag are all understood.
    let quoted = s.api.add_step(&id, &echo, Some("\"1\"")).await;
    assert_eq!(quoted.headers()["etag"], "\"2\"");
    assert_eq!(json_of(quoted, 200).await["version"], 2);
    assert_eq!(
        json_of(s.api.add_step(&id, &echo, Some("W/\"2\"")).await, 200).await["version"],
        3
    );

    // Every change checks it; a version from the future is as stale.
    assert_error(s.api.remove_step(&id, "0", Some("2")).await, 409, "version_conflict").await;
    assert_error(s.api.action(&id, "activate", Some("1")).await, 409, "version_conflict").await;
    assert_error(s.api.action(&id, "archive", Some("9")).await, 409, "version_conflict").await;
    for garbage in ["abc", "-1", "\"\"", "1, 2"] {
        assert_error(s.api.add_step(&id, &echo, Some(garbage)).await, 400, "invalid_request").await;
    }
    let stored = s.api.pipeline(&id).await;
    assert_eq!(
        (
            stored["version"].as_u64(),
            stored["status"].as_str(),
            plugins_of(&stored).len()
        ),
        (Some(3), Some("draft"), 3),
        "refused changes changed nothing"
    );

    let active = json_of(s.api.action(&id, "activate", Some("3")).await, 200).await;
    assert_eq!(active["version"], 4);
    let removed = json_of(s.api.remove_step(&id, "0", Some("4")).await, 200).await;
    assert_eq!(removed["version"], 5);
    // Without If-Match, a change applies to whatever version is current.
    assert_eq!(json_of(s.api.add_step(&id, &echo, None).await, 200).await["version"], 6);
}

async fn malformed_requests_are_400(store: Store) {
    let s = Subject::start(store).await;
    let bodies = [
        "{",
        "",
        "[]",
        "null",
        r#"{"name": 5}"#,
        r#"{"description": "no name"}"#,
        r#"{"name": "x", "extra": 1}"#,
        r#"{"name": "x", "steps": {"plugin": "echo"}}"#,
        r#"{"name": "x", "steps": [{"plugin": "echo", "bogus": 1}]}"#,
        r#"{"name": "x", "steps": [{"config": {}}]}"#,
    ];
    for body in bodies {
        let request = s
            .api
            .request(reqwest::Method::POST, "/pipelines", None)
            .header("content-type", "application/json")
            .body(body);
        let message = assert_error(super::Api::send(request).await, 400, "invalid_request").await;
        assert!(!message.is_empty(), "{body}");
    }
    assert!(
        s.api.all("/pipelines", "pipelines").await.is_empty(),
        "nothing was created"
    );

    let id = id_of(&s.api.create_ok("target", &[]).await);
    for body in [
        "not json",
        "{}",
        r#"{"plugin": ["echo"]}"#,
        r#"{"plugin": "echo", "x": 1}"#,
    ] {
        let request = s
            .api
            .request(reqwest::Method::POST, &format!("/pipelines/{id}/steps"), None)
            .body(body);
        assert_error(super::Api::send(request).await, 400, "invalid_request").await;
    }
    assert_eq!(s.api.pipeline(&id).await["version"], 0);
}

async fn unknown_pipelines_are_404(store: Store) {
    let s = Subject::start(store).await;
    s.api.create_ok("known", &["echo"]).await;
    for id in [uuid::Uuid::now_v7().to_string(), "not-a-uuid".into(), "12345".into()] {
        assert_error(s.api.get(&id).await, 404, "pipeline_not_found").await;
        let step = json!({ "plugin": "echo" });
        assert_error(s.api.add_step(&id, &step, None).await, 404, "pipeline_not_found").await;
        assert_error(s.api.add_step(&id, &step, Some("0")).await, 404, "pipeline_not_found").await;
        assert_error(s.api.remove_step(&id, "0", None).await, 404, "pipeline_not_found").await;
        for action in ["activate", "archive"] {
            assert_error(s.api.action(&id, action, None).await, 404, "pipeline_not_found").await;
        }
        assert_error(s.api.execute(&id, "x", "text/plain").await, 404, "pipeline_not_found").await;
        let response = super::Api::send(s.api.request(
            reqwest::Method::GET,
            &format!("/pipelines/{id}/executions"),
            None,
        ))
        .await;
        assert_error(response, 404, "pipeline_not_found").await;
    }
    let put = s.api.request(reqwest::Method::PUT, "/pipelines", None);
    assert_error(super::Api::send(put).await, 405, "method_not_allowed").await;
    let id = uuid::Uuid::now_v7();
    let delete = s
        .api
        .request(reqwest::Method::DELETE, &format!("/pipelines/{id}"), None);
    assert_error(super::Api::send(delete).await, 405, "method_not_allowed").await;
    assert_eq!(s.api.all("/pipelines", "pipelines").await.len(), 1);
}

/// Odd but well-formed input (a NUL character in a description or a step's
/// config, long text) is stored and read back as given, or refused as the
/// caller's mistake: never a 500, and the same on every store.
async fn odd_input_is_never_a_server_error(store: Store) {
    let s = Subject::start(store).await;
    let cases = [
        json!({ "name": "nul-description", "description": "before\u{0}after" }),
        json!({ "name": "nul-config", "steps": [{ "plugin": "echo", "config": { "k": "a\u{0}b" } }] }),
        json!({ "name": "nul-key", "steps": [{ "plugin": "echo", "config": { "a\u{0}": 1 } }] }),
        json!({ "name": "long-description", "description": "d".repeat(100_000) }),
        json!({ "name": "🚀".repeat(128), "description": "four bytes a character" }),
    ];
    for case in &cases {
        let response = s.api.create(case).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(
            status < 500,
            "creating {:.80} answered {status}: {body}",
            case.to_string()
        );
        if status == 201 {
            let stored = s.api.pipeline(&id_of(&body)).await;
            assert_eq!(stored["name"], case["name"]);
            assert_eq!(
                stored["description"],
                case.get("description").cloned().unwrap_or("".into())
            );
            assert_eq!(stored["steps"], case.get("steps").cloned().unwrap_or(json!([])));
        }
    }
    let id = id_of(&s.api.create_ok("nul-step", &[]).await);
    let response = s
        .api
        .add_step(&id, &json!({ "plugin": "echo", "config": { "k": "\u{0}" } }), None)
        .await;
    let status = response.status().as_u16();
    assert!(
        status < 500,
        "adding a step with a NUL in its config answered {status}: {}",
        response.text().await.unwrap()
    );
}

super::on_both_stores!(
    names_are_1_to_128_printable_characters_and_unique,
    steps_name_loaded_plugins,
    a_pipeline_has_at_most_64_steps,
    an_empty_pipeline_does_not_run,
    step_indexes_must_exist,
    a_stale_if_match_is_a_conflict,
    malformed_requests_are_400,
    unknown_pipelines_are_404,
    odd_input_is_never_a_server_error,
);
