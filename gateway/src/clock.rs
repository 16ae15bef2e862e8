//! The wall clock, in the two forms the gateway stores: timestamps for
//! records (PostgreSQL's precision) and Unix milliseconds for the wire
//! (Redis scores, event times, heartbeats).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// The time now, to the microsecond: what PostgreSQL keeps, so that a record
/// reads back exactly as it was written, whichever store holds it.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_tell_the_same_time() {
        let stamp = now();
        assert_eq!(stamp.timestamp_subsec_nanos() % 1_000, 0, "whole microseconds");
        let ms = unix_ms();
        assert!(ms.abs_diff(stamp.timestamp_millis() as u64) < 1_000);
    }
}
