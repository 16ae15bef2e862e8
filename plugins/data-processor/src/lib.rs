//! The `data-processor` plugin: takes a JSON document, turns each of its
//! top-level entries into a transformed record and describes the document.
//!
//! - [`transform`] turns the input into records (one per key of an object,
//!   per element of an array, or one for a scalar);
//! - [`stats`] measures the input: values per JSON type, nesting depth, size
//!   and the spread of its numbers.
//!
//! This module only parses the request and assembles the answer.
#![deny(unsafe_code)]

pub mod stats;
pub mod transform;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use flexcore_abi::{PluginError, Request, Response};
use serde_json::{Value, json};

flexcore_abi::export_plugin!(
    name = "data-processor",
    version = "1.0.0",
    description = "Transforms the records of a JSON document and reports statistics about it",
    invoke = process,
);

/// The `processor_id` every answer carries.
pub const PROCESSOR_ID: &str = "real-data-processor-v1.0";

/// Handles one request: the body must be a JSON document (any JSON value).
pub fn process(req: &Request) -> Result<Response<'_>, PluginError> {
    let started = Instant::now();
    if req.body().trim_ascii().is_empty() {
        return Err(PluginError::invalid_input(
            "request body is empty; data-processor expects a JSON document",
        ));
    }
    let input: Value = req.json()?;
    let now = unix_seconds();
    let records = transform::records(&input, now);
    let metadata = stats::InputStats::of(&input, req.body().len());
    let processing_time_ms = started.elapsed().as_secs_f64() * 1000.0;

    Response::json(&json!({
        "processor_id": PROCESSOR_ID,
        "processed_at": now,
        "input_received": input,
        "processing_stats": {
            "records_processed": records.len(),
            "processing_time_ms": processing_time_ms,
            "status": "success",
        },
        "output_data": { "transformed_records": records },
        "metadata": metadata.to_json(),
    }))
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests;
