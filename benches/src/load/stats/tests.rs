//! Percentile maths on data whose answer is known.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::*;

/// 1..=1000 µs, once each: every percentile is the value itself (HdrHistogram
/// with 3 significant digits stores values below 2048 exactly).
#[test]
fn percentiles_of_one_to_a_thousand() {
    let mut h = Latency::new();
    for us in 1..=1000 {
        h.record_us(us);
    }
    let s = h.summary();
    assert_eq!(s.min_us, 1);
    assert_eq!(s.p50_us, 500);
    assert_eq!(s.p90_us, 900);
    assert_eq!(s.p99_us, 990);
    assert_eq!(s.p999_us, 999);
    assert_eq!(s.max_us, 1000);
    assert!((s.mean_us - 500.5).abs() < 0.01, "{}", s.mean_us);
}

/// 90% fast and 10% slow: p90 is still fast, p99 is slow. This is exactly why
/// a closed loop that reports p90 can hide a stall every 10th request.
#[test]
fn a_ten_percent_tail_shows_above_p90_only() {
    let mut h = Latency::new();
    for i in 0..1000 {
        h.record(if i % 10 == 0 {
            Duration::from_millis(10)
        } else {
            Duration::from_micros(100)
        });
    }
    let s = h.summary();
    assert_eq!(s.p50_us, 100);
    assert_eq!(s.p90_us, 100);
    // Large values are kept to 3 significant digits: 10 000 is within 0.1%.
    assert!((9_990..=10_010).contains(&s.p99_us), "{}", s.p99_us);
}

#[test]
fn merging_recorders_adds_counts_and_errors() {
    let mut a = Recorder::default();
    let mut b = Recorder::default();
    for us in 1..=500 {
        a.latency.record_us(us);
    }
    for us in 501..=1000 {
        b.latency.record_us(us);
    }
    a.errors.timeout = 2;
    b.errors.status.insert(503, 3);
    b.errors.connect = 1;
    a.add(&b);
    assert_eq!(a.responses(), 1000);
    assert_eq!(a.latency.summary().p50_us, 500);
    assert_eq!(a.errors.total(), 6);
    // 3 transport failures and 3 of the 1000 responses were errors.
    assert!((a.error_rate() - 6.0 / 1003.0).abs() < 1e-12);
    assert_eq!(a.errors.describe(), "connect 1, timeout 2, status 503×3");
}

#[test]
fn the_spectrum_rises_and_ends_at_the_max() {
    let mut h = Latency::new();
    for us in 1..=10_000 {
        h.record_us(us);
    }
    let points = h.spectrum(5);
    assert!(points.len() > 20);
    assert!(
        points
            .windows(2)
            .all(|w| w[0].percentile <= w[1].percentile && w[0].latency_us <= w[1].latency_us)
    );
    let last = points.last().unwrap();
    assert_eq!(last.percentile, 100.0);
    assert_eq!(last.latency_us, h.summary().max_us);
    let p99 = points.iter().find(|p| p.percentile >= 99.0).unwrap();
    // 99.06% of 1..=10 000 is 9 906, kept to 3 significant digits.
    assert!((9_890..=9_930).contains(&p99.latency_us), "{p99:?}");
}

#[test]
fn out_of_range_values_are_clamped_not_lost() {
    let mut h = Latency::new();
    h.record(Duration::ZERO);
    h.record(Duration::from_secs(3600));
    assert_eq!(h.count(), 2);
    assert_eq!(h.summary().min_us, 1);
}

#[test]
fn medians() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
}
