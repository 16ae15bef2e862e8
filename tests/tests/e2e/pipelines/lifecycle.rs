//! A pipeline's life: created as a draft at version 0, changed one version
//! at a time, run through real plugins (the output of one step is the input
//! of the next), archived for good.

use chrono::{DateTime, Utc};
use flexcore_tests::assert_error;
use serde_json::{Value, json};

use super::{Store, Subject, id_of, json_of, plugins_of, without_times};

fn time(pipeline: &Value, field: &str) -> DateTime<Utc> {
    let text = pipeline[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {pipeline}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{field} {text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

async fn created_pipelines_read_back_as_created(store: Store) {
    let s = Subject::start(store).await;
    let response = s
        .api
        .create(&json!({ "name": "orders", "description": "Order intake" }))
        .await;
    let location = response.headers().get("location").cloned();
    let etag = response.headers().get("etag").cloned();
    let created = json_of(response, 201).await;
    let id = id_of(&created);
    uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("id {id} is not a UUID: {e}"));
    assert_eq!(location.unwrap(), format!("/pipelines/{id}").as_str());
    assert_eq!(etag.unwrap(), "\"0\"");
    assert_eq!(
        without_times(&created),
        json!({
            "id": id, "name": "orders", "description": "Order intake",
            "steps": [], "status": "draft", "version": 0,
        })
    );
    assert_eq!(time(&created, "created_at"), time(&created, "updated_at"));
    let age = Utc::now() - time(&created, "created_at");
    assert!(age.num_seconds().abs() < 60, "created_at is {age} away from now");

    // What the 201 said is what every later read says, timestamps included.
    assert_eq!(s.api.pipeline(&id).await, created, "GET after POST");

    // Steps may come with the pipeline; config is kept as given.
    let inline = json!({
        "name": "inline",
        "steps": [{ "plugin": "echo" }, { "plugin": "wordcount", "config": { "mode": "fast", "limit": [1, 2] } }],
    });
    let created = json_of(s.api.create(&inline).await, 201).await;
    assert_eq!(created["steps"], inline["steps"]);
    assert_eq!(created["version"], 0);
    assert_eq!(created["description"], "", "the description defaults to empty");
    assert_eq!(s.api.pipeline(&id_of(&created)).await["steps"], inline["steps"]);
    if let Some(rows) = s.rows("pipelines").await {
        assert_eq!(rows, 2, "both pipelines are rows of the database");
    }
}

async fn every_change_is_one_version(store: Store) {
    let s = Subject::start(store).await;
    let created = s.api.create_ok("steps", &[]).await;
    let id = id_of(&created);

    let mut last = created.clone();
    for (version, plugin) in [(1, "echo"), (2, "wordcount"), (3, "data-processor")] {
        let response = s
            .api
            .add_step(&id, &json!({ "plugin": plugin, "config": { "n": version } }), None)
            .await;
        assert_eq!(response.headers()["etag"], format!("\"{version}\"").as_str());
        last = json_of(response, 200).await;
        assert_eq!(last["version"], version);
        assert_eq!(last["status"], "draft");
    }
    assert_eq!(plugins_of(&last), ["echo", "wordcount", "data-processor"]);
    assert_eq!(last["steps"][1], json!({ "plugin": "wordcount", "config": { "n": 2 } }));
    assert_eq!(last["created_at"], created["created_at"], "created_at never moves");
    assert!(time(&last, "updated_at") >= time(&created, "updated_at"));
    assert_eq!(without_times(&s.api.pipeline(&id).await), without_times(&last));

    let removed = json_of(s.api.remove_step(&id, "1", None).await, 200).await;
    assert_eq!(plugins_of(&removed), ["echo", "data-processor"]);
    assert_eq!(removed["version"], 4);

    let active = json_of(s.api.action(&id, "activate", None).await, 200).await;
    assert_eq!(
        (active["status"].as_str(), active["version"].as_u64()),
        (Some("active"), Some(5))
    );
    let again = json_of(s.api.action(&id, "activate", None).await, 200).await;
    assert_eq!(again["status"], "active", "an active pipeline stays active");

    // Active pipelines still take changes.
    let added = s.api.add_step_ok(&id, "echo").await;
    assert_eq!(plugins_of(&added), ["echo", "data-processor", "echo"]);
    assert_eq!(added["status"], "active");
    let stored = s.api.pipeline(&id).await;
    assert_eq!(without_times(&stored), without_times(&added));
    assert_eq!(stored["version"], again["version"].as_u64().unwrap() + 1);
}

/// data-processor, then echo, then the C wordcount: the JSON document
/// data-processor writes (its content type too) goes through echo unchanged
/// and is counted by wordcount.
async fn three_plugins_run_as_a_chain(store: Store) {
    let s = Subject::start(store).await;
    let input = json!({ "greeting": "hello big world", "n": [1, 2.5], "ok": true });
    let chain = s.api.create_ok("chain", &[]).await;
    let id = id_of(&chain);
    for plugin in ["data-processor", "echo", "wordcount"] {
        s.api.add_step_ok(&id, plugin).await;
    }

    let response = s.api.execute(&id, input.to_string(), "application/json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let execution_id = response.headers()["x-flexcore-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();
    uuid::Uuid::parse_str(&execution_id).expect("the execution id is a UUID");
    let counted: Value = response.json().await.unwrap();

    // What wordcount was given: data-processor's answer to the same input,
    // seen through a pipeline of data-processor and echo.
    let reference = s.api.create_ok("reference", &["data-processor", "echo"]).await;
    let response = s
        .api
        .execute(&id_of(&reference), input.to_string(), "application/json")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let processed = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&processed).unwrap();
    assert_eq!(document["processor_id"], "real-data-processor-v1.0");
    assert_eq!(document["input_received"], input);
    assert_eq!(document["processing_stats"]["records_processed"], 3);

    let words = processed.split_ascii_whitespace().count() as u64;
    assert!(words > 4, "the document holds the spaced strings of the input");
    assert_eq!(counted["words"], words, "wordcount of {processed}: {counted}");
    assert_eq!(counted["lines"], 1, "{counted}");
    // Only the processing time (a float of 1 to 24 characters) differs
    // between the two runs. It is measured on the text as sent: a float
    // parsed and printed again may come out in fewer digits.
    let time = processed
        .split_once("\"processing_time_ms\":")
        .and_then(|(_, rest)| rest.split([',', '}']).next())
        .unwrap_or_else(|| panic!("no processing_time_ms in {processed}"));
    assert!(time.parse::<f64>().is_ok(), "processing_time_ms is {time:?}");
    let fixed = (processed.len() - time.len()) as u64;
    let bytes = counted["bytes"].as_u64().unwrap();
    assert!(
        (fixed + 1..=fixed + 24).contains(&bytes),
        "wordcount saw {bytes} bytes; data-processor's answer is {fixed} + its processing time"
    );
    assert_eq!(counted.as_object().unwrap().len(), 3, "{counted}");

    // A chain whose every byte is known.
    let exact = s.api.create_ok("exact", &["echo", "echo", "wordcount"]).await;
    let response = s
        .api
        .execute(&id_of(&exact), "one two\nthree four five\n", "text/plain")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "bytes": 24, "words": 5, "lines": 2 })
    );

    // The content type travels too: echo answers with what it was given.
    let typed = s.api.create_ok("typed", &["echo", "echo"]).await;
    let response = s.api.execute(&id_of(&typed), "<a/>", "application/xml").await;
    assert_eq!(response.headers()["content-type"], "application/xml");
    assert_eq!(response.text().await.unwrap(), "<a/>");
}

async fn archived_pipelines_take_no_change_and_no_run(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("retired", &["echo"]).await);
    assert_eq!(s.api.execute(&id, "before", "text/plain").await.status(), 200);

    let archived = json_of(s.api.action(&id, "archive", None).await, 200).await;
    assert_eq!(archived["status"], "archived");
    assert_eq!(archived["version"], 1);

    assert_error(
        s.api.execute(&id, "after", "text/plain").await,
        422,
        "pipeline_archived",
    )
    .await;
    assert_error(
        s.api.add_step(&id, &json!({ "plugin": "echo" }), None).await,
        422,
        "pipeline_archived",
    )
    .await;
    assert_error(s.api.remove_step(&id, "0", None).await, 422, "pipeline_archived").await;
    assert_error(s.api.action(&id, "activate", None).await, 422, "pipeline_archived").await;
    assert_error(s.api.action(&id, "archive", None).await, 422, "pipeline_archived").await;
    assert_error(s.api.action(&id, "archive", Some("1")).await, 422, "pipeline_archived").await;

    let stored = s.api.pipeline(&id).await;
    assert_eq!(without_times(&stored), without_times(&archived), "nothing changed");
    let runs = s.api.all(&format!("/pipelines/{id}/executions"), "executions").await;
    assert_eq!(runs.len(), 1, "a refused run leaves no record: {runs:?}");

    // An active pipeline can be archived too.
    let other = id_of(&s.api.create_ok("active-then-retired", &["echo"]).await);
    json_of(s.api.action(&other, "activate", None).await, 200).await;
    let archived = json_of(s.api.action(&other, "archive", None).await, 200).await;
    assert_eq!(
        (archived["status"].as_str(), archived["version"].as_u64()),
        (Some("archived"), Some(2))
    );
    assert_error(s.api.execute(&other, "x", "text/plain").await, 422, "pipeline_archived").await;
}

super::on_both_stores!(
    created_pipelines_read_back_as_created,
    every_change_is_one_version,
    three_plugins_run_as_a_chain,
    archived_pipelines_take_no_change_and_no_run,
);
