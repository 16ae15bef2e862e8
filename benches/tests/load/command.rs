//! The `flexcore-load` binary as a CI job runs it: exit codes, reports, charts.

use std::path::Path;
use std::process::{Command, Output};

use super::server::{Behaviour, TestServer};

const EXIT_THRESHOLDS_FAILED: i32 = flexcore_benches::load::EXIT_THRESHOLDS_FAILED;

fn load(args: &[&str]) -> Output {
    // One load at a time, so that the timing tests measure their own.
    let _alone = super::ONE_AT_A_TIME.blocking_lock();
    Command::new(env!("CARGO_BIN_EXE_flexcore-load"))
        .args(args)
        .output()
        .unwrap()
}

/// A short run: 2 connections, 0.1 s warm-up, 0.3 s measured.
fn short_run(url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", url, "-c", "2", "-w", "100ms", "-d", "300ms", "--timeout", "1s"];
    args.extend_from_slice(extra);
    load(&args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn met_thresholds_exit_zero_and_missed_ones_exit_three() {
    let server = TestServer::start(Behaviour::default());
    let url = server.url("/echo");
    let ok = short_run(&url, &["--max-error-rate", "0", "--max-p99", "1s", "--body-size", "64"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let text = stdout(&ok);
    assert!(text.contains("requests/s") && text.contains("p99.9"), "{text}");
    assert!(text.contains("threshold    ok    p99"), "{text}");
    assert!(
        text.contains("share"),
        "the report says whether cores are shared: {text}"
    );

    let too_fast = short_run(&url, &["--max-p99", "1us"]);
    assert_eq!(too_fast.status.code(), Some(EXIT_THRESHOLDS_FAILED));
    assert!(stdout(&too_fast).contains("threshold    FAIL  p99"));
}

#[test]
fn error_statuses_count_against_the_error_rate() {
    let server = TestServer::start(Behaviour {
        status: 503,
        ..Behaviour::default()
    });
    let failing = short_run(&server.url("/x"), &["--max-error-rate", "1%"]);
    assert_eq!(failing.status.code(), Some(EXIT_THRESHOLDS_FAILED));
    let text = stdout(&failing);
    assert!(text.contains("status 503×"), "{text}");
    assert!(text.contains("FAIL  error rate"), "{text}");
}

#[test]
fn usage_mistakes_and_remote_targets_are_refused() {
    let bad = load(&["run", "http://127.0.0.1:1/", "--max-p99", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    // Refused before any connection is tried: 192.0.2.0/24 is TEST-NET-1.
    let remote = load(&["run", "http://192.0.2.1/"]);
    assert_eq!(remote.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&remote.stderr).contains("not a loopback address"));
}

#[test]
fn json_reports_combine_into_one_chart() {
    let server = TestServer::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let json = short_run(
        &server.url("/echo"),
        &["--json", "--label", "closed", "--json-out", a.to_str().unwrap()],
    );
    assert_eq!(json.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(report["total"]["responses"].as_u64().unwrap() > 0);
    assert_eq!(report["setup"]["mode"], "closed");
    assert_eq!(report["setup"]["cores"]["shared"], true);
    let open = short_run(
        &server.url("/echo"),
        &["--rate", "200", "--label", "open", "--json-out", b.to_str().unwrap()],
    );
    assert_eq!(open.status.code(), Some(0));
    assert!(stdout(&open).contains("send delay"));
    let svg = dir.path().join("both.svg");
    let chart = load(&[
        "chart",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(chart.status.code(), Some(0));
    let svg = std::fs::read_to_string(svg).unwrap();
    // One line per report (drawn 2 px wide; axes and legend use other widths).
    assert_eq!(svg.matches(r#"stroke-width="2""#).count(), 2, "{svg}");
    assert!(svg.contains("closed (closed loop") && svg.contains("open (open loop 200 req/s"));
}

/// A scenario file whose setup request creates a thing and captures its id;
/// the measured requests then go to that thing's path (as a pipeline's would).
#[test]
fn setup_requests_capture_values_for_the_scenarios() {
    let server = TestServer::start(Behaviour::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("things.toml");
    std::fs::write(
        &file,
        r#"
        [[setup]]
        method = "POST"
        path = "/things"
        capture = { thing = "/id" }

        [[scenario]]
        path = "/things/${thing}/run"
        body = "go"
        weight = 3

        [[scenario]]
        name = "health"
        path = "/health"
        "#,
    )
    .unwrap();
    let output = short_run(
        &server.url("/"),
        &["--scenario", file.to_str().unwrap(), "--max-error-rate", "0"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let paths = server.paths.lock().unwrap().clone();
    assert_eq!(paths.first().map(String::as_str), Some("/things"));
    let runs = paths.iter().filter(|p| *p == "/things/t-7/run").count();
    let health = paths.iter().filter(|p| *p == "/health").count();
    assert!(runs > 0 && health > 0, "{paths:?}");
    // The 3:1 mix, give or take the requests in flight at the edges.
    let share = runs as f64 / (runs + health) as f64;
    assert!((0.70..=0.80).contains(&share), "{share}");
    // Both scenarios are reported on their own.
    let text = stdout(&output);
    assert!(text.contains("[things-1]") && text.contains("[health]"), "{text}");
    assert!(Path::new(&file).exists());
}
