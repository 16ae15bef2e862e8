//! Events as callers publish them and as targets receive them, and the
//! dead letters of those whose target kept failing.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

/// `POST /events`: `{"type": "...", "source": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl NewEvent {
    /// Checks the type (1 to 200 of `[A-Za-z0-9._:-]`) and the source (at most 200).
    pub fn validate(&self) -> Result<(), Error> {
        let type_ok = |c: char| c.is_ascii_alphanumeric() || "._:-".contains(c);
        if self.event_type.is_empty() || self.event_type.len() > 200 || !self.event_type.chars().all(type_ok) {
            return Err(Error::BadRequest(
                "event type must be 1 to 200 of [A-Za-z0-9._:-]".into(),
            ));
        }
        if self.source.len() > 200 || self.source.chars().any(char::is_control) {
            return Err(Error::BadRequest(
                "event source must be at most 200 printable characters".into(),
            ));
        }
        Ok(())
    }
}

/// An event as stored and delivered: what was published, with its id and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub source: String,
    pub time_unix_ms: u64,
    pub data: serde_json::Value,
}

impl Event {
    /// The body a target receives: the event as JSON.
    pub fn body(&self) -> bytes::Bytes {
        bytes::Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// An event one of whose targets failed every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event: Event,
    pub subscription_id: Uuid,
    pub target: String,
    pub attempts: u32,
    pub error: String,
    pub failed_at_unix_ms: u64,
}
