//! Medians, ratios and goals from known reports.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::load::report::{Measured, Setup};
use crate::load::stats::{ErrorCounts, LatencySummary};
use crate::load::system::{CoreSharing, CpuUse};

fn report(rps: f64, p99_us: u64) -> Report {
    let total = Measured {
        name: "echo".into(),
        responses: rps as u64,
        rps,
        errors: ErrorCounts::default(),
        error_rate: 0.0,
        latency_us: LatencySummary {
            p50_us: p99_us / 2,
            p99_us,
            ..Default::default()
        },
        spectrum: Vec::new(),
    };
    Report {
        tool: "test".into(),
        label: "echo".into(),
        setup: Setup {
            target: "http://127.0.0.1:1".into(),
            mode: "closed".into(),
            connections: 64,
            rate: None,
            warmup_s: 1.0,
            duration_s: 1.0,
            timeout_s: 1.0,
            client_threads: 1,
            server_pid: None,
            cores: CoreSharing {
                cores: 2,
                client_cpus: None,
                server_cpus: None,
                shared: true,
                note: String::new(),
            },
            load_average: None,
            scenarios: Vec::new(),
        },
        scenarios: vec![total.clone()],
        total,
        send_delay_us: None,
        cpu: CpuUse::default(),
        server_memory: None,
        thresholds: Vec::new(),
    }
}

#[test]
fn medians_over_rounds_and_ratios_against_the_baseline() {
    let runs: Vec<(String, Report)> = [
        ("bare-hyper", 100.0, 900),
        ("gateway", 93.0, 1000),
        ("bare-hyper", 104.0, 800),
        ("gateway", 90.0, 1200),
        ("bare-hyper", 96.0, 1000),
        ("gateway", 10.0, 5000), // one bad round: the median ignores it
    ]
    .into_iter()
    .map(|(t, rps, p99)| (t.to_owned(), report(rps, p99)))
    .collect();
    let closed = PartSummary::new("echo", false, None, &runs);
    assert_eq!(closed.targets[0].target, "bare-hyper");
    let gateway = closed.target("gateway").unwrap();
    assert_eq!(gateway.runs, 3);
    assert_eq!(gateway.rps.median, 90.0);
    assert_eq!((gateway.rps.min, gateway.rps.max), (10.0, 93.0));
    assert!((gateway.ratio.unwrap() - 0.9).abs() < 1e-9);
    assert_eq!(closed.target("bare-hyper").unwrap().ratio, Some(1.0));
    let table = closed.markdown();
    assert!(table.contains("| gateway | **90** | 10–93 | 0.90 |"), "{table}");

    let open = PartSummary::new("rate", true, None, &runs);
    // Open loop compares p99: 1200 µs against 900 µs.
    assert!((open.target("gateway").unwrap().ratio.unwrap() - 1200.0 / 900.0).abs() < 1e-9);

    let goals = goals(Some(&closed), Some(&open), Some(20 << 20));
    assert_eq!(
        goals.iter().map(|g| g.met).collect::<Vec<_>>(),
        [Some(true), Some(false), Some(true)]
    );
    assert!(Goal::markdown(&goals).contains("**no**"));
}

#[test]
fn without_a_baseline_there_is_no_ratio() {
    let runs = vec![("gateway".to_owned(), report(50.0, 100))];
    let part = PartSummary::new("echo", false, None, &runs);
    assert_eq!(part.targets[0].ratio, None);
    assert!(goals(Some(&part), None, None).iter().all(|g| g.met.is_none()));
}
