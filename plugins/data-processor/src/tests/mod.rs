//! The plugin called as the host calls it: a request in, a JSON answer out,
//! and the same answer as before, byte for byte ([`identity`]).

mod identity;
mod reference;

use flexcore_abi::{RequestBuf, Status};
use serde_json::{Value, json};

use super::*;

/// Calls the plugin and parses its answer, checking it is typed JSON.
fn call(body: &str) -> Value {
    let req = RequestBuf::new(body.as_bytes(), "application/json", "id");
    let resp = process(&req).unwrap();
    assert_eq!(resp.content_type(), "application/json");
    serde_json::from_slice(resp.body()).unwrap()
}

fn records(answer: &Value) -> &Vec<Value> {
    answer["output_data"]["transformed_records"].as_array().unwrap()
}

#[test]
fn the_documented_example_gives_exactly_the_documented_answer() {
    let before = unix_seconds();
    let answer = call(r#"{"test_input":"real_data"}"#);
    let after = unix_seconds();

    let keys: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
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
    let now = answer["processed_at"].as_u64().unwrap();
    assert!((before..=after).contains(&now));
    assert_eq!(answer["input_received"], json!({"test_input": "real_data"}));

    let stats = &answer["processing_stats"];
    assert_eq!(stats.as_object().unwrap().len(), 3);
    assert_eq!(stats["records_processed"], 1);
    assert_eq!(stats["status"], "success");
    assert!(stats["processing_time_ms"].as_f64().unwrap() >= 0.0);
    assert!(stats["processing_time_ms"].is_f64());

    assert_eq!(
        answer["output_data"],
        json!({"transformed_records": [{
            "original_key": "test_input",
            "original_value": "real_data",
            "transformed_key": "processed_test_input",
            "transformed_value": "PROCESSED: real_data",
            "transformation_timestamp": now,
        }]})
    );
    assert_eq!(
        answer["metadata"],
        json!({
            "input_size_bytes": 26,
            "total_values": 2,
            "max_depth": 1,
            "type_counts": {"null":0,"bool":0,"number":0,"string":1,"array":0,"object":1},
            "numeric_stats": {"count": 0, "min": null, "max": null, "mean": null},
        })
    );
}

#[test]
fn non_string_values_are_transformed_as_json_text() {
    let answer = call(r#"{"n":42,"o":{"a":1},"l":[true]}"#);
    let values: Vec<&Value> = records(&answer).iter().map(|r| &r["transformed_value"]).collect();
    assert_eq!(values, ["PROCESSED: 42", r#"PROCESSED: {"a":1}"#, "PROCESSED: [true]"]);
    assert_eq!(records(&answer)[1]["original_value"], json!({"a": 1}));
}

#[test]
fn an_array_is_processed_record_by_record() {
    let answer = call(r#"[{"a":1,"b":2},"loose",{"c":3}]"#);
    let origins: Vec<Value> = records(&answer)
        .iter()
        .map(|r| json!([r["original_key"], r["record_index"]]))
        .collect();
    assert_eq!(Value::Array(origins), json!([["a", 0], ["b", 0], ["1", 1], ["c", 2]]));
    assert_eq!(records(&answer)[2]["transformed_value"], "PROCESSED: loose");
    assert_eq!(answer["processing_stats"]["records_processed"], 4);
    assert_eq!(
        answer["metadata"]["numeric_stats"],
        json!({"count": 3, "min": 1, "max": 3, "mean": 2.0})
    );
}

#[test]
fn a_scalar_document_is_one_record() {
    let answer = call("  -1.5 ");
    assert_eq!(records(&answer).len(), 1);
    assert_eq!(records(&answer)[0]["original_key"], "value");
    assert_eq!(records(&answer)[0]["transformed_value"], "PROCESSED: -1.5");
    assert_eq!(answer["metadata"]["input_size_bytes"], 7);
}

#[test]
fn nested_numbers_give_min_max_and_mean() {
    let answer = call(r#"{"outer":{"inner":[4,-2,{"deep":10}]},"x":0.5}"#);
    let metadata = &answer["metadata"];
    assert_eq!(
        metadata["numeric_stats"],
        json!({"count": 4, "min": -2, "max": 10, "mean": 3.125})
    );
    assert_eq!(metadata["max_depth"], 4);
    assert_eq!(metadata["total_values"], 8);
}

#[test]
fn invalid_or_missing_json_is_invalid_input() {
    for body in ["", "  \n", "{not json", r#"{"a":1} trailing"#] {
        let req = RequestBuf::new(body.as_bytes(), "application/json", "id");
        let error = process(&req).unwrap_err();
        assert_eq!(error.status(), Status::InvalidInput, "{body:?}");
        assert_eq!(error.status().http_status(), 400);
        assert!(error.message().contains("JSON"), "{}", error.message());
    }
}
