//! Statistics of an input document, reported under `metadata`.
//!
//! Every value counts, the document itself included: `{"a":[1,2]}` holds one
//! object, one array and two numbers. Depth counts the containers on the
//! deepest path (a scalar is 0, `{}` is 1, `{"a":[]}` is 2). The walk is
//! recursive; serde_json's parser refuses documents nested deeper than 128
//! levels, so its depth is bounded.

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

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(text: &str) -> Value {
        let document: Value = serde_json::from_str(text).unwrap();
        InputStats::of(&document, text.len()).to_json()
    }

    #[test]
    fn counts_every_value_of_a_nested_document() {
        let m = stats(r#"{"a":[1,2.5,{"b":null}],"c":"x","d":true,"e":{"f":[[]]}}"#);
        assert_eq!(
            m["type_counts"],
            json!({"null":1,"bool":1,"number":2,"string":1,"array":3,"object":3})
        );
        assert_eq!(m["total_values"], 11);
        assert_eq!(m["max_depth"], 4);
        assert_eq!(m["input_size_bytes"], 56);
    }

    #[test]
    fn numbers_are_found_at_any_depth() {
        let m = stats(r#"{"a":10,"b":[-4,{"c":[2.5]}],"d":"7"}"#);
        assert_eq!(
            m["numeric_stats"],
            json!({"count": 3, "min": -4, "max": 10, "mean": 8.5 / 3.0})
        );
    }

    #[test]
    fn without_numbers_the_extremes_and_mean_are_null() {
        let m = stats(r#"["a",null]"#);
        assert_eq!(
            m["numeric_stats"],
            json!({"count": 0, "min": null, "max": null, "mean": null})
        );
    }

    #[test]
    fn a_scalar_has_depth_zero_and_an_empty_container_depth_one() {
        assert_eq!(stats("42")["max_depth"], 0);
        assert_eq!(stats("{}")["max_depth"], 1);
        assert_eq!(stats(r#"{"a":[]}"#)["max_depth"], 2);
    }
}
