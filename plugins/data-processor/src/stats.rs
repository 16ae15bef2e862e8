//! Statistics of an input document, reported under `metadata`.
//!
//! Every value counts, the document itself included: `{"a":[1,2]}` holds one
//! object, one array and two numbers. Depth counts the containers on the
//! deepest path (a scalar is 0, `{}` is 1, `{"a":[]}` is 2).
//!
//! Values are counted one at a time, in document order, by whoever reads the
//! document: the one-pass scan as it goes, or [`InputStats::of`] walking a
//! parsed tree (recursively; serde_json's parser refuses documents nested
//! deeper than 127 levels, so the recursion is bounded).

use crate::document::{Json, Number};
use crate::writer;

/// What was found in a document.
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
    /// The smallest and largest number as written (so integers stay integers).
    pub min: Option<Number>,
    pub max: Option<Number>,
    /// Summed in document order, as the mean has always been computed.
    pub sum: f64,
}

/// A value as [`InputStats::add`] counts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Null,
    Bool,
    Number(Number),
    String,
    Array,
    Object,
}

impl InputStats {
    /// Nothing counted yet, for a document `size_bytes` long.
    pub fn new(size_bytes: usize) -> Self {
        Self {
            size_bytes,
            ..Self::default()
        }
    }

    /// Measures a whole `document`, whose text was `size_bytes` long.
    pub fn of(document: &Json, size_bytes: usize) -> Self {
        let mut stats = Self::new(size_bytes);
        stats.visit(document, 0);
        stats
    }

    /// Counts one value found inside `level` containers (the document is at
    /// level 0). Every value must be counted in document order, a container
    /// before what it holds, as the mean sums the numbers in that order.
    #[inline(always)]
    pub fn add(&mut self, value: Kind, level: usize) {
        let counts = &mut self.type_counts;
        match value {
            Kind::Null => counts.null += 1,
            Kind::Bool => counts.bool += 1,
            Kind::String => counts.string += 1,
            Kind::Number(number) => {
                counts.number += 1;
                self.numbers.add(number);
            }
            // The deepest container sets the depth.
            Kind::Array => {
                counts.array += 1;
                self.max_depth = self.max_depth.max(level + 1);
            }
            Kind::Object => {
                counts.object += 1;
                self.max_depth = self.max_depth.max(level + 1);
            }
        }
    }

    /// Appends the `metadata` object of the plugin's answer.
    pub fn write(&self, out: &mut Vec<u8>) {
        let counts = &self.type_counts;
        out.extend_from_slice(b"{\"input_size_bytes\":");
        writer::uint(out, self.size_bytes as u64);
        out.extend_from_slice(b",\"total_values\":");
        writer::uint(out, counts.total());
        out.extend_from_slice(b",\"max_depth\":");
        writer::uint(out, self.max_depth as u64);
        out.extend_from_slice(b",\"type_counts\":{\"null\":");
        writer::uint(out, counts.null);
        out.extend_from_slice(b",\"bool\":");
        writer::uint(out, counts.bool);
        out.extend_from_slice(b",\"number\":");
        writer::uint(out, counts.number);
        out.extend_from_slice(b",\"string\":");
        writer::uint(out, counts.string);
        out.extend_from_slice(b",\"array\":");
        writer::uint(out, counts.array);
        out.extend_from_slice(b",\"object\":");
        writer::uint(out, counts.object);
        out.extend_from_slice(b"},\"numeric_stats\":");
        self.numbers.write(out);
        out.push(b'}');
    }

    /// Counts `value` and everything inside it.
    fn visit(&mut self, value: &Json, level: usize) {
        match value {
            Json::Null => self.add(Kind::Null, level),
            Json::Bool(_) => self.add(Kind::Bool, level),
            Json::String(_) => self.add(Kind::String, level),
            Json::Number(number) => self.add(Kind::Number(*number), level),
            Json::Array(elements) => {
                self.add(Kind::Array, level);
                for element in elements {
                    self.visit(element, level + 1);
                }
            }
            Json::Object(entries) => {
                self.add(Kind::Object, level);
                for (_, value) in entries {
                    self.visit(value, level + 1);
                }
            }
        }
    }
}

impl TypeCounts {
    pub fn total(&self) -> u64 {
        self.null + self.bool + self.number + self.string + self.array + self.object
    }
}

impl NumberStats {
    fn add(&mut self, number: Number) {
        let x = number.as_f64();
        self.count += 1;
        self.sum += x;
        if self.min.is_none_or(|min| x < min.as_f64()) {
            self.min = Some(number);
        }
        if self.max.is_none_or(|max| x > max.as_f64()) {
            self.max = Some(number);
        }
    }

    /// The mean, or `None` when there were no numbers.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"count\":");
        writer::uint(out, self.count);
        out.extend_from_slice(b",\"min\":");
        optional(out, self.min, writer::number);
        out.extend_from_slice(b",\"max\":");
        optional(out, self.max, writer::number);
        out.extend_from_slice(b",\"mean\":");
        optional(out, self.mean(), writer::float);
        out.push(b'}');
    }
}

/// Appends `value` with `write`, or `null`.
fn optional<T>(out: &mut Vec<u8>, value: Option<T>, write: fn(&mut Vec<u8>, T)) {
    match value {
        Some(value) => write(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::document;

    fn stats(text: &str) -> Value {
        let document = document::parse(text.as_bytes()).unwrap();
        let mut out = Vec::new();
        InputStats::of(&document, text.len()).write(&mut out);
        serde_json::from_slice(&out).unwrap()
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

    #[test]
    fn a_value_replaced_by_a_repeated_key_is_not_counted() {
        let m = stats(r#"{"a":[1,[2]],"b":3,"a":"x"}"#);
        assert_eq!(m["total_values"], 3);
        assert_eq!(m["max_depth"], 1);
        assert_eq!(m["numeric_stats"]["count"], 1);
    }
}
