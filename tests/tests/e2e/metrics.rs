//! `GET /metrics`: Prometheus text with per-plugin invocation counters,
//! errors by kind and a duration histogram.

use std::collections::BTreeMap;

use flexcore_tests::TestGateway;

/// One sample of the exposition: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the samples of the Prometheus text format (label values here hold
/// no commas or escaped quotes).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap();
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v)))
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
        .value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_errors_and_durations() {
    let gw = TestGateway::start(|_| {}).await;
    for _ in 0..5 {
        assert_eq!(gw.execute("echo", "x").await.status(), 200);
    }
    for (command, status) in [("error", 500), ("error", 500), ("invalid", 400), ("unavailable", 503)] {
        assert_eq!(gw.execute("faulty", command).await.status(), status);
    }

    let response = gw.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE flexcore_plugin_invocations_total counter"));
    assert!(text.contains("# TYPE flexcore_plugin_duration_seconds histogram"));
    let samples = parse(&text);

    let echo = [("plugin", "echo")];
    assert!(value(&samples, "flexcore_plugin_invocations_total", &echo) >= 5.0);
    let faulty = |kind| [("plugin", "faulty"), ("kind", kind)];
    assert_eq!(
        value(&samples, "flexcore_plugin_invocations_total", &[("plugin", "faulty")]),
        4.0
    );
    assert_eq!(
        value(&samples, "flexcore_plugin_errors_total", &faulty("internal")),
        2.0
    );
    assert_eq!(
        value(&samples, "flexcore_plugin_errors_total", &faulty("invalid_input")),
        1.0
    );
    assert_eq!(
        value(&samples, "flexcore_plugin_errors_total", &faulty("unavailable")),
        1.0
    );
    assert_eq!(value(&samples, "flexcore_plugin_errors_total", &faulty("panic")), 0.0);

    assert_eq!(value(&samples, "flexcore_plugin_duration_seconds_count", &echo), 5.0);
    let inf = [("plugin", "echo"), ("le", "+Inf")];
    assert_eq!(value(&samples, "flexcore_plugin_duration_seconds_bucket", &inf), 5.0);
    let sum = value(&samples, "flexcore_plugin_duration_seconds_sum", &echo);
    assert!(sum > 0.0 && sum < 5.0, "{sum}");
    assert_eq!(value(&samples, "flexcore_plugins_loaded", &[]), 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_gauge_counts_running_calls() {
    let gw = TestGateway::start(|_| {}).await;
    let call = gw.spawn_execute("faulty", "sleep 700");
    gw.wait_for_invocations("faulty", 1).await;
    let text = gw.get("/metrics").await.text().await.unwrap();
    let running = value(&parse(&text), "flexcore_invocations_in_flight", &[]);
    assert_eq!(running, 1.0, "one call is running");
    assert_eq!(call.await.unwrap().status(), 200);
    let text = gw.get("/metrics").await.text().await.unwrap();
    assert_eq!(value(&parse(&text), "flexcore_invocations_in_flight", &[]), 0.0);
}
