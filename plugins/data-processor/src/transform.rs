//! Turns a JSON document into transformed records.
//!
//! An object gives one record per key, in the input's order. An array is a
//! list of records: an object element gives one record per key, any other
//! element one record keyed by its index, and each record says which element
//! it came from in `record_index`. A scalar document gives one record keyed
//! `value`.
//!
//! Every record repeats text of the document: its key, its value as JSON
//! (`original_value`) and that JSON again inside a string
//! (`transformed_value`). So the document is written once (the answer's
//! `input_received`), noting where each record's key and value landed, by
//! [`write_document`] from a parsed tree or by `scan` as it reads; then
//! [`write_records`] copies those bytes rather than serialising the values
//! again.

use std::ops::Range;

use crate::document::Json;
use crate::writer;

/// One record, pointing into the document's text already in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: Key,
    /// The value's JSON text.
    pub value: Range<usize>,
    /// The array element the record comes from.
    pub index: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// An object's key: its JSON text, quotes included.
    Written(Range<usize>),
    /// The index of an array element that is not an object.
    Index(usize),
    /// `value`, the key of a scalar document's one record.
    Value,
}

/// Appends `document` as JSON and returns its records.
pub fn write_document(out: &mut Vec<u8>, document: &Json) -> Vec<Record> {
    let mut records = Vec::new();
    match document {
        Json::Object(entries) => write_entries(out, entries, None, &mut records),
        Json::Array(elements) => {
            out.push(b'[');
            for (index, element) in elements.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                match element {
                    Json::Object(entries) => write_entries(out, entries, Some(index), &mut records),
                    other => records.push(Record {
                        key: Key::Index(index),
                        value: written(out, |out| writer::value(out, other)),
                        index: Some(index),
                    }),
                }
            }
            out.push(b']');
        }
        scalar => records.push(Record {
            key: Key::Value,
            value: written(out, |out| writer::value(out, scalar)),
            index: None,
        }),
    }
    records
}

/// Appends an object, one record per entry.
fn write_entries(
    out: &mut Vec<u8>,
    entries: &[(crate::document::Text, Json)],
    index: Option<usize>,
    records: &mut Vec<Record>,
) {
    out.push(b'{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let key = written(out, |out| writer::string(out, key));
        out.push(b':');
        let value = written(out, |out| writer::value(out, value));
        records.push(Record {
            key: Key::Written(key),
            value,
            index,
        });
    }
    out.push(b'}');
}

/// Where in `out` the bytes that `write` appends land.
fn written(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> Range<usize> {
    let start = out.len();
    write(out);
    start..out.len()
}

/// Appends `records` as a JSON array, each stamped with `timestamp` (Unix
/// seconds). `out` must hold the text the records point at.
pub fn write_records(out: &mut Vec<u8>, records: &[Record], timestamp: u64) {
    out.push(b'[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_record(out, record, timestamp);
    }
    out.push(b']');
}

fn write_record(out: &mut Vec<u8>, record: &Record, timestamp: u64) {
    out.extend_from_slice(b"{\"original_key\":");
    write_key(out, &record.key, b"\"");
    out.extend_from_slice(b",\"original_value\":");
    out.extend_from_within(record.value.clone());
    out.extend_from_slice(b",\"transformed_key\":");
    write_key(out, &record.key, b"\"processed_");
    out.extend_from_slice(b",\"transformed_value\":\"PROCESSED: ");
    write_transformed_value(out, record.value.clone());
    out.extend_from_slice(b",\"transformation_timestamp\":");
    writer::uint(out, timestamp);
    if let Some(index) = record.index {
        out.extend_from_slice(b",\"record_index\":");
        writer::uint(out, index as u64);
    }
    out.push(b'}');
}

/// Appends the key as a JSON string whose text starts with `opening` (the
/// opening quote and a prefix).
fn write_key(out: &mut Vec<u8>, key: &Key, opening: &[u8]) {
    out.extend_from_slice(opening);
    match key {
        // The written key without its opening quote: its escaped text and
        // the closing quote.
        Key::Written(text) => out.extend_from_within(text.start + 1..text.end),
        Key::Index(index) => {
            writer::uint(out, *index as u64);
            out.push(b'"');
        }
        Key::Value => out.extend_from_slice(b"value\""),
    }
}

/// Appends the end of `transformed_value`, after `"PROCESSED: `: a string's
/// own text, or any other value's JSON text, escaped; then the closing quote.
fn write_transformed_value(out: &mut Vec<u8>, value: Range<usize>) {
    if out[value.start] == b'"' {
        // Already escaped, and it brings its closing quote.
        out.extend_from_within(value.start + 1..value.end);
    } else {
        writer::escape_json_within(out, value);
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::document;

    /// The records of `text`, stamped 7, as the answer holds them.
    fn records(text: &str) -> Vec<Value> {
        let document = document::parse(text.as_bytes()).unwrap();
        let mut out = Vec::new();
        let records = write_document(&mut out, &document);
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        let start = out.len();
        write_records(&mut out, &records, 7);
        serde_json::from_slice(&out[start..]).unwrap()
    }

    fn field<'a>(records: &'a [Value], name: &str) -> Vec<&'a Value> {
        records.iter().map(|record| &record[name]).collect()
    }

    #[test]
    fn strings_lose_their_quotes_and_other_values_keep_their_json() {
        let records = records(r#"{"s":"real_data","n":42,"z":null,"o":{"a":1},"l":[1,"x"],"q":"say \"hi\""}"#);
        assert_eq!(
            field(&records, "transformed_value"),
            [
                "PROCESSED: real_data",
                "PROCESSED: 42",
                "PROCESSED: null",
                r#"PROCESSED: {"a":1}"#,
                r#"PROCESSED: [1,"x"]"#,
                r#"PROCESSED: say "hi""#,
            ]
        );
        assert_eq!(records[3]["original_value"], json!({"a": 1}));
    }

    #[test]
    fn object_keys_keep_the_input_order_and_their_characters() {
        let records = records(r#"{"z":1,"a":2,"m\"\n":3}"#);
        assert_eq!(field(&records, "original_key"), ["z", "a", "m\"\n"]);
        assert_eq!(
            field(&records, "transformed_key"),
            ["processed_z", "processed_a", "processed_m\"\n"]
        );
    }

    #[test]
    fn array_elements_are_keyed_by_their_index_unless_objects() {
        let records = records(r#"[{"a":1},"loose",{"b":2,"c":3}]"#);
        assert_eq!(field(&records, "original_key"), ["a", "1", "b", "c"]);
        assert_eq!(field(&records, "transformed_key")[1], "processed_1");
        assert_eq!(field(&records, "record_index"), [0, 1, 2, 2]);
    }

    #[test]
    fn a_scalar_document_is_one_record_keyed_value() {
        assert_eq!(
            records("true"),
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
        assert!(records("{}").is_empty());
        assert!(records("[]").is_empty());
    }
}
