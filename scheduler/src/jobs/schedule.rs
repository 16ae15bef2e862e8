//! [`Schedule`]: when a job's ticks fall. Pure arithmetic on UTC instants,
//! the same on every replica, so that a tick has one `scheduled_at`
//! cluster-wide (the fencing key).
//!
//! Intervals are aligned on the Unix epoch (every `5m` ticks at :00, :05,
//! ...). Cron patterns are evaluated in their time zone by `croner`, which
//! follows Vixie cron over DST changes: a fixed time that falls in the
//! spring-forward gap runs right after it, a fixed time in the repeated
//! fall-back hour runs once; wildcard fields run on each real occurrence.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// A validated schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every `period` (whole milliseconds), aligned on the Unix epoch.
    Every { period_ms: i64 },
    /// A cron pattern in a time zone.
    Cron { cron: Box<Cron>, tz: Tz },
}

impl Schedule {
    /// The shortest interval accepted: shorter would be more claims than
    /// ticks worth having.
    pub const MIN_EVERY: Duration = Duration::from_secs(1);

    pub fn every(period: Duration) -> Result<Self, String> {
        if period < Self::MIN_EVERY {
            return Err(format!(
                "must be at least {}",
                humantime::format_duration(Self::MIN_EVERY)
            ));
        }
        if !period.subsec_nanos().is_multiple_of(1_000_000) {
            return Err("must be a whole number of milliseconds".into());
        }
        let period_ms = i64::try_from(period.as_millis()).map_err(|_| "is too long".to_owned())?;
        Ok(Self::Every { period_ms })
    }

    /// A cron schedule; the error names the key at fault (`cron` or
    /// `timezone`) and why.
    pub fn cron(pattern: &str, timezone: Option<&str>) -> Result<Self, (&'static str, String)> {
        let cron = Cron::from_str(pattern).map_err(|e| ("cron", format!("`{pattern}`: {e}")))?;
        let tz = match timezone {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name).map_err(|_| ("timezone", format!("unknown time zone `{name}`")))?,
        };
        // A pattern that never matches (e.g. 30 February) would stall the job.
        let probe = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
        let schedule = Self::Cron {
            cron: Box::new(cron),
            tz,
        };
        if probe.and_then(|t| schedule.next_after(t)).is_none() {
            return Err(("cron", format!("`{pattern}` never matches")));
        }
        Ok(schedule)
    }

    /// The first tick strictly after `t`, or `None` when there is none.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every { period_ms } => {
                let ms = t.timestamp_millis();
                // Ticks are multiples of the period; an instant inside a
                // millisecond is past that millisecond's tick.
                let base = ms.div_euclid(*period_ms) * period_ms;
                let next = base.checked_add(*period_ms)?;
                DateTime::from_timestamp_millis(next)
            }
            Self::Cron { cron, tz } => cron
                .find_next_occurrence(&t.with_timezone(tz), false)
                .ok()
                .map(|next| next.with_timezone(&Utc))
                // croner works in whole seconds; keep "strictly after" exact.
                .and_then(|next| {
                    if next > t {
                        Some(next)
                    } else {
                        self.next_after(t + chrono::Duration::seconds(1))
                    }
                }),
        }
    }

    /// The ticks in `(after, until]`, in order, at most `limit` of them.
    pub fn ticks_between(&self, after: DateTime<Utc>, until: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
        let mut ticks = Vec::new();
        let mut cursor = after;
        while ticks.len() < limit {
            match self.next_after(cursor) {
                Some(next) if next <= until => {
                    ticks.push(next);
                    cursor = next;
                }
                _ => break,
            }
        }
        ticks
    }

    /// A short human form: `every 1s`, `cron 0 * * * * (Europe/Berlin)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Every { period_ms } => format!(
                "every {}",
                humantime::format_duration(Duration::from_millis(u64::try_from(*period_ms).unwrap_or_default()))
            ),
            Self::Cron { cron, tz } => format!("cron {} ({tz})", cron.pattern),
        }
    }
}

#[cfg(test)]
mod tests;
