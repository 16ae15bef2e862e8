//! The request's JSON document, parsed once and borrowing from the body.
//!
//! serde_json does the parsing, so what is accepted, what is refused (and
//! with which message), how deep a document may nest and what each number
//! becomes (an unsigned or negative integer, or a float) are exactly what
//! `serde_json::from_slice::<Value>` decides. What differs from a `Value` is
//! the cost: a string without escape sequences is borrowed from the body, not
//! copied, and an object is a vector of entries, not a hash map.
//!
//! A key that comes back replaces the earlier value in the earlier position,
//! as serde_json's `preserve_order` map does: `{"a":1,"b":2,"a":3}` is read as
//! `{"a":3,"b":2}`, and the value it replaced is gone from the document.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// One JSON value of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Text<'a>),
    Array(Vec<Json<'a>>),
    /// Entries in the order their keys first appear, each key once.
    Object(Vec<(Text<'a>, Json<'a>)>),
}

/// A number as serde_json reads it: an integer when it has neither fraction
/// nor exponent and fits, a float otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    PosInt(u64),
    NegInt(i64),
    Float(f64),
}

/// A string of the document.
#[derive(Debug, Clone)]
pub enum Text<'a> {
    /// Written in the body without escape sequences; none of its characters
    /// needs one in JSON (serde_json refuses raw control characters).
    Plain(&'a str),
    /// Written with escape sequences; this is the decoded text.
    Decoded(String),
}

/// Parses a whole body: one JSON value with nothing but whitespace around it.
pub fn parse(body: &[u8]) -> Result<Json<'_>, serde_json::Error> {
    serde_json::from_slice(body)
}

impl Number {
    /// The value as serde_json's `Number::as_f64` gives it.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::PosInt(n) => n as f64,
            Number::NegInt(n) => n as f64,
            Number::Float(x) => x,
        }
    }
}

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Text::Plain(text) => text,
            Text::Decoded(text) => text,
        }
    }
}

// Keys are compared and hashed by their text, however they were written.
impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text<'_> {}

impl Hash for Text<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// An object's entries while it is read, applying serde_json's rule for a
/// key that comes back.
struct Entries<'a> {
    list: Vec<(Text<'a>, Json<'a>)>,
    /// Where each key sits in `list`, built once `list` is too long to search
    /// one by one (so a huge object stays linear).
    index: Option<HashMap<Text<'a>, usize>>,
}

impl<'a> Entries<'a> {
    /// Past this many entries, keys are looked up in a hash map.
    const SCAN_LIMIT: usize = 16;

    fn insert(&mut self, key: Text<'a>, value: Json<'a>) {
        let earlier = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.list.iter().position(|(k, _)| *k == key),
        };
        if let Some(position) = earlier {
            self.list[position].1 = value;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.list.len());
        }
        self.list.push((key, value));
        if self.index.is_none() && self.list.len() > Self::SCAN_LIMIT {
            let index = self.list.iter().enumerate().map(|(at, (k, _))| (k.clone(), at));
            self.index = Some(index.collect());
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Number::PosInt(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        // As serde_json's `Number::from(i64)`.
        Ok(Json::Number(match u64::try_from(value) {
            Ok(value) => Number::PosInt(value),
            Err(_) => Number::NegInt(value),
        }))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json<'de>, E> {
        // As serde_json's `Value`: a float that is not finite becomes null
        // (its parser refuses such numbers before they get here).
        Ok(if value.is_finite() {
            Json::Number(Number::Float(value))
        } else {
            Json::Null
        })
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Text::Plain(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Text::Decoded(value.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut elements = Vec::new();
        while let Some(element) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Json::Array(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries = Entries {
            list: Vec::new(),
            index: None,
        };
        while let Some(key) = map.next_key_seed(KeySeed)? {
            entries.insert(key, map.next_value()?);
        }
        Ok(Json::Object(entries.list))
    }
}

/// Reads an object's key, borrowing it from the body when it can.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Plain(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Text<'de>, E> {
        Ok(Text::Decoded(value.to_owned()))
    }
}
