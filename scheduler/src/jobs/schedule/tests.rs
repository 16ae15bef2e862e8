//! Schedule arithmetic: properties over random instants, and the DST days.

use chrono::{Datelike, NaiveDate, Timelike};
use proptest::prelude::*;

use super::*;

/// Instants from 2000 to 2100, at millisecond precision.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800_000i64..4_102_444_800_000i64).prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap())
}

fn pattern() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "* * * * * *",
        "*/7 * * * * *",
        "0 */5 * * * *",
        "0 30 2 * * *",
        "15 0 1 * *",
        "0 0 12 * * MON-FRI",
        "0 0 0 L * *",
        "30 2 * * SUN",
    ])
}

fn zone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
    ])
}

proptest! {
    #[test]
    fn interval_ticks_are_aligned_and_next(t in instant(), secs in 1u64..200_000) {
        let s = Schedule::every(Duration::from_secs(secs)).unwrap();
        let next = s.next_after(t).unwrap();
        let period = i64::try_from(secs * 1000).unwrap();
        prop_assert!(next > t);
        prop_assert!(next.timestamp_millis() - t.timestamp_millis() <= period);
        prop_assert_eq!(next.timestamp_millis().rem_euclid(period), 0);
    }

    #[test]
    fn interval_ticks_between_counts_every_period(
        t in instant(), secs in 1u64..3600, span in 0i64..100_000_000,
    ) {
        let s = Schedule::every(Duration::from_secs(secs)).unwrap();
        let until = t + chrono::Duration::milliseconds(span);
        let ticks = s.ticks_between(t, until, usize::MAX);
        let p = i64::try_from(secs * 1000).unwrap();
        let expected = until.timestamp_millis().div_euclid(p) - t.timestamp_millis().div_euclid(p);
        prop_assert_eq!(i64::try_from(ticks.len()).unwrap(), expected);
        prop_assert!(ticks.windows(2).all(|w| w[1].timestamp_millis() - w[0].timestamp_millis() == p));
    }

    #[test]
    fn cron_next_is_the_first_match_after(t in instant(), p in pattern(), z in zone()) {
        let s = Schedule::cron(p, Some(z)).unwrap();
        let Schedule::Cron { cron, tz } = &s else { unreachable!() };
        let next = s.next_after(t).unwrap();
        prop_assert!(next > t);
        // A match, or (a fixed time that fell in a spring-forward gap) the
        // first instant after the gap.
        let local = next.with_timezone(tz).naive_local();
        let second_before = (next - chrono::Duration::seconds(1)).with_timezone(tz).naive_local();
        let after_gap = local - second_before > chrono::Duration::seconds(1);
        prop_assert!(cron.is_time_matching(&next.with_timezone(tz)).unwrap() || after_gap);
        // Nothing matches in between: the match before `next` is not after `t`.
        if let Ok(previous) = cron.find_previous_occurrence(&next.with_timezone(tz), false) {
            prop_assert!(previous.with_timezone(&Utc) <= t, "{previous} is between {t} and {next}");
        }
    }

    #[test]
    fn cron_next_is_monotonic(t in instant(), gap in 0i64..10_000_000, p in pattern(), z in zone()) {
        let s = Schedule::cron(p, Some(z)).unwrap();
        let later = t + chrono::Duration::milliseconds(gap);
        prop_assert!(s.next_after(t).unwrap() <= s.next_after(later).unwrap());
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

#[test]
fn a_fixed_local_time_runs_once_every_day_across_both_dst_changes() {
    let s = Schedule::cron("0 30 2 * * *", Some("Europe/Berlin")).unwrap();
    let ticks = s.ticks_between(utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), 1000);
    assert_eq!(ticks.len(), 365);
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let days: std::collections::BTreeSet<NaiveDate> =
        ticks.iter().map(|t| t.with_timezone(&berlin).date_naive()).collect();
    assert_eq!(days.len(), 365, "one tick per local day");
    // 30 March 2025: 02:30 does not exist; the tick runs right after the gap.
    let spring = ticks
        .iter()
        .find(|t| t.with_timezone(&berlin).day() == 30 && t.with_timezone(&berlin).month() == 3)
        .unwrap();
    assert_eq!(spring.with_timezone(&berlin).hour(), 3);
    // 26 October 2025: 02:30 happens twice; the tick runs once, the first time.
    let autumn: Vec<_> = ticks
        .iter()
        .filter(|t| t.with_timezone(&berlin).day() == 26 && t.with_timezone(&berlin).month() == 10)
        .collect();
    assert_eq!(autumn.len(), 1);
    assert_eq!(*autumn[0], utc(2025, 10, 26, 0, 30));
}

#[test]
fn wildcard_patterns_follow_real_time_through_the_repeated_hour() {
    let s = Schedule::cron("0 */15 * * * *", Some("Europe/Berlin")).unwrap();
    // 00:00 to 03:00 UTC on 26 October 2025 is 02:00 CEST .. 03:00 CET
    // locally, with 02:00-03:00 twice: every quarter hour of real time ticks.
    let ticks = s.ticks_between(utc(2025, 10, 25, 23, 59), utc(2025, 10, 26, 2, 0), 100);
    assert_eq!(ticks.len(), 9);
    assert!(ticks.windows(2).all(|w| w[1] - w[0] == chrono::Duration::minutes(15)));
}

#[test]
fn bad_schedules_are_refused_with_a_reason() {
    assert!(
        Schedule::every(Duration::from_millis(500))
            .unwrap_err()
            .contains("at least")
    );
    assert!(Schedule::cron("61 * * * *", None).is_err());
    assert_eq!(
        Schedule::cron("0 * * * *", Some("Mars/Olympus")).unwrap_err().0,
        "timezone"
    );
    assert!(Schedule::cron("0 0 0 30 2 *", None).unwrap_err().1.contains("never"));
}
