//! Turns a JSON document into transformed records.
//!
//! An object gives one record per key, in the input's order. An array is a
//! list of records: an object element gives one record per key, any other
//! element one record keyed by its index, and each record says which element
//! it came from in `record_index`. A scalar document gives one record keyed
//! `value`.

use serde_json::{Map, Value};

/// The records of `input`, each stamped with `timestamp` (Unix seconds).
pub fn records(input: &Value, timestamp: u64) -> Vec<Value> {
    match input {
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| record(key, value, None, timestamp))
            .collect(),
        Value::Array(elements) => elements
            .iter()
            .enumerate()
            .flat_map(|(index, element)| match element {
                Value::Object(fields) => fields
                    .iter()
                    .map(|(key, value)| record(key, value, Some(index), timestamp))
                    .collect(),
                other => vec![record(&index.to_string(), other, Some(index), timestamp)],
            })
            .collect(),
        scalar => vec![record("value", scalar, None, timestamp)],
    }
}

/// `PROCESSED: ` followed by a string's text, or by any other value's JSON.
pub fn transformed_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!("PROCESSED: {text}"),
        other => format!("PROCESSED: {other}"),
    }
}

fn record(key: &str, value: &Value, record_index: Option<usize>, timestamp: u64) -> Value {
    let mut record = Map::new();
    record.insert("original_key".into(), key.into());
    record.insert("original_value".into(), value.clone());
    record.insert("transformed_key".into(), format!("processed_{key}").into());
    record.insert("transformed_value".into(), transformed_value(value).into());
    record.insert("transformation_timestamp".into(), timestamp.into());
    if let Some(index) = record_index {
        record.insert("record_index".into(), index.into());
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings_lose_their_quotes_and_other_values_keep_their_json() {
        assert_eq!(transformed_value(&json!("real_data")), "PROCESSED: real_data");
        assert_eq!(transformed_value(&json!(42)), "PROCESSED: 42");
        assert_eq!(transformed_value(&json!(null)), "PROCESSED: null");
        assert_eq!(transformed_value(&json!({"a": 1})), r#"PROCESSED: {"a":1}"#);
        assert_eq!(transformed_value(&json!([1, "x"])), r#"PROCESSED: [1,"x"]"#);
    }

    #[test]
    fn object_keys_keep_the_input_order() {
        let input: Value = serde_json::from_str(r#"{"z":1,"a":2,"m":3}"#).unwrap();
        let keys: Vec<_> = records(&input, 0).iter().map(|r| r["original_key"].clone()).collect();
        assert_eq!(keys, [json!("z"), json!("a"), json!("m")]);
    }

    #[test]
    fn a_scalar_document_is_one_record_keyed_value() {
        assert_eq!(
            records(&json!(true), 7),
            [json!({
                "original_key": "value",
                "original_value": true,
                "transformed_key": "processed_value",
                "transformed_value": "PROCESSED: true",
                "transformation_timestamp": 7,
            })]
        );
    }

    #[test]
    fn an_empty_object_or_array_has_no_records() {
        assert!(records(&json!({}), 0).is_empty());
        assert!(records(&json!([]), 0).is_empty());
    }
}
