//! The `data-processor` plugin: takes a JSON document, turns each of its
//! top-level entries into a transformed record and describes the document.
//!
//! - [`transform`] says what the records are (one per key of an object, per
//!   element of an array, or one for a scalar) and writes them;
//! - [`stats`] measures the document: values per JSON type, nesting depth,
//!   size and the spread of its numbers;
//! - [`scan`] reads most documents in one pass, writing them back, finding
//!   their records and measuring them on the way;
//! - [`document`] reads any other document as serde_json does, into a tree
//!   that [`transform`] and [`stats`] then walk;
//! - [`writer`] writes JSON text byte for byte as serde_json would.
//!
//! The answer is written straight into one buffer, in its final order, with
//! no `serde_json::Value` in between: the document's text is written once
//! (`input_received`) and the records copy their keys and values from it. It
//! is the same answer, byte for byte, as when it was a `Value` serialised by
//! serde_json (see `tests/identity.rs`). This module assembles the answer.
#![deny(unsafe_code)]

pub mod document;
pub mod scan;
pub mod stats;
pub mod transform;
pub mod writer;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use flexcore_abi::{PluginError, Request, Response};
use stats::InputStats;
use transform::Record;

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
    let elapsed_ms = || started.elapsed().as_secs_f64() * 1000.0;
    let body = answer(req.body(), unix_seconds(), elapsed_ms)?;
    Ok(Response::bytes(body).with_content_type("application/json"))
}

/// The answer to `body` as JSON text, stamped `now` (Unix seconds).
/// `elapsed_ms` is asked once, when the work is done but for the writing.
fn answer(body: &[u8], now: u64, elapsed_ms: impl FnOnce() -> f64) -> Result<Vec<u8>, PluginError> {
    if body.trim_ascii().is_empty() {
        return Err(PluginError::invalid_input(
            "request body is empty; data-processor expects a JSON document",
        ));
    }

    // The document appears about three times (as itself, in the records'
    // values and escaped in their transformed values), plus the records'
    // own keys.
    let mut out = Vec::with_capacity(4 * body.len() + 512);
    out.extend_from_slice(b"{\"processor_id\":\"");
    out.extend_from_slice(PROCESSOR_ID.as_bytes());
    out.extend_from_slice(b"\",\"processed_at\":");
    writer::uint(&mut out, now);
    out.extend_from_slice(b",\"input_received\":");
    let (records, metadata) = read_document(body, &mut out)?;
    out.extend_from_slice(b",\"processing_stats\":{\"records_processed\":");
    writer::uint(&mut out, records.len() as u64);
    out.extend_from_slice(b",\"processing_time_ms\":");
    writer::float(&mut out, elapsed_ms());
    out.extend_from_slice(b",\"status\":\"success\"},\"output_data\":{\"transformed_records\":");
    transform::write_records(&mut out, &records, now);
    out.extend_from_slice(b"},\"metadata\":");
    metadata.write(&mut out);
    out.push(b'}');
    Ok(out)
}

/// Appends the document's JSON text to `out` and returns its records and
/// statistics.
fn read_document(body: &[u8], out: &mut Vec<u8>) -> Result<(Vec<Record>, InputStats), PluginError> {
    let start = out.len();
    if let Some(scanned) = scan::scan(body, out) {
        return Ok((scanned.records, scanned.stats));
    }
    // What the scan is unsure of, serde_json decides (and words the error).
    out.truncate(start);
    let document = document::parse(body)
        .map_err(|e| PluginError::invalid_input(format!("request body is not valid JSON: {e}")))?;
    let records = transform::write_document(out, &document);
    Ok((records, InputStats::of(&document, body.len())))
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests;
