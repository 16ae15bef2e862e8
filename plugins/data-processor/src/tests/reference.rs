//! The plugin as it was before it wrote its answer by hand (commit e0d5e48):
//! a `serde_json::Value` for the input, one for the answer, `serde_json` to
//! write it. Kept, unchanged but for the clock being passed in, as the
//! reference the new answer must match byte for byte.

use flexcore_abi::PluginError;
use serde_json::{Value, json};

/// What the old `process` answered to `body`, had its clock said `now` and
/// `elapsed_ms`.
pub fn answer(body: &[u8], now: u64, elapsed_ms: impl FnOnce() -> f64) -> Result<Vec<u8>, PluginError> {
    if body.trim_ascii().is_empty() {
        return Err(PluginError::invalid_input(
            "request body is empty; data-processor expects a JSON document",
        ));
    }
    let input: Value = serde_json::from_slice(body)
        .map_err(|e| PluginError::invalid_input(format!("request body is not valid JSON: {e}")))?;
    let records = transform::records(&input, now);
    let metadata = stats::InputStats::of(&input, body.len());
    let processing_time_ms = elapsed_ms();

    let answer = json!({
        "processor_id": crate::PROCESSOR_ID,
        "processed_at": now,
        "input_received": input,
        "processing_stats": {
            "records_processed": records.len(),
            "processing_time_ms": processing_time_ms,
            "status": "success",
        },
        "output_data": { "transformed_records": records },
        "metadata": metadata.to_json(),
    });
    serde_json::to_vec(&answer).map_err(|e| PluginError::internal(format!("could not serialise the response: {e}")))
}

mod transform {
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
}

mod stats {
    use serde_json::{Number, Value, json};

    /// What [`InputStats::of`] found in a document.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct InputStats {
        pub type_counts: TypeCounts,
        pub max_depth: usize,
        pub size_bytes: usize,
        pub numbers: NumberStats,
    }

    /// How many values of each JSON type a document holds.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct TypeCounts {
        pub null: u64,
        pub bool: u64,
        pub number: u64,
        pub string: u64,
        pub array: u64,
        pub object: u64,
    }

    /// Count, extremes and mean of the numbers in a document.
    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct NumberStats {
        pub count: u64,
        /// The smallest and largest number as written (so integers stay integers),
        /// with their value as `f64` for comparing.
        pub min: Option<(f64, Number)>,
        pub max: Option<(f64, Number)>,
        pub sum: f64,
    }

    impl InputStats {
        /// Measures `document`, whose text was `size_bytes` long.
        pub fn of(document: &Value, size_bytes: usize) -> Self {
            let mut stats = Self {
                size_bytes,
                ..Self::default()
            };
            stats.max_depth = stats.visit(document);
            stats
        }

        /// The `metadata` object of the plugin's answer.
        pub fn to_json(&self) -> Value {
            let counts = &self.type_counts;
            json!({
                "input_size_bytes": self.size_bytes,
                "total_values": counts.total(),
                "max_depth": self.max_depth,
                "type_counts": {
                    "null": counts.null,
                    "bool": counts.bool,
                    "number": counts.number,
                    "string": counts.string,
                    "array": counts.array,
                    "object": counts.object,
                },
                "numeric_stats": self.numbers.to_json(),
            })
        }

        /// Counts `value` and everything inside it; returns its depth.
        fn visit(&mut self, value: &Value) -> usize {
            let counts = &mut self.type_counts;
            match value {
                Value::Null => counts.null += 1,
                Value::Bool(_) => counts.bool += 1,
                Value::String(_) => counts.string += 1,
                Value::Number(number) => {
                    counts.number += 1;
                    self.numbers.add(number);
                }
                Value::Array(elements) => {
                    counts.array += 1;
                    return 1 + self.deepest(elements.iter());
                }
                Value::Object(fields) => {
                    counts.object += 1;
                    return 1 + self.deepest(fields.values());
                }
            }
            0
        }

        fn deepest<'a>(&mut self, values: impl Iterator<Item = &'a Value>) -> usize {
            values.map(|value| self.visit(value)).max().unwrap_or(0)
        }
    }

    impl TypeCounts {
        pub fn total(&self) -> u64 {
            self.null + self.bool + self.number + self.string + self.array + self.object
        }
    }

    impl NumberStats {
        fn add(&mut self, number: &Number) {
            // Always `Some` unless serde_json's arbitrary_precision is on.
            let Some(x) = number.as_f64() else { return };
            self.count += 1;
            self.sum += x;
            if self.min.as_ref().is_none_or(|(min, _)| x < *min) {
                self.min = Some((x, number.clone()));
            }
            if self.max.as_ref().is_none_or(|(max, _)| x > *max) {
                self.max = Some((x, number.clone()));
            }
        }

        /// The mean, or `None` when there were no numbers.
        pub fn mean(&self) -> Option<f64> {
            (self.count > 0).then(|| self.sum / self.count as f64)
        }

        fn to_json(&self) -> Value {
            json!({
                "count": self.count,
                "min": self.min.as_ref().map(|(_, number)| number),
                "max": self.max.as_ref().map(|(_, number)| number),
                "mean": self.mean(),
            })
        }
    }
}
