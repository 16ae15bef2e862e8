//! The command line, as an operator uses it: `jobs list|pause|resume`,
//! `runs NAME --last N`, and configuration errors that name the key.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{Replica, World, jobs_toml, run_scheduler};

async fn cli(config: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let finished = run_scheduler(&all).await;
    (finished.status.success(), finished.stdout, finished.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_listed_paused_resumed_and_their_runs_shown() {
    let world = World::new(Duration::from_millis(20)).await;
    world.windmill.add_script("f/test/cli", PathBehaviour::default());
    let jobs = jobs_toml(
        &["cli-job"],
        "every = \"1s\"\ntarget = { windmill_script = \"f/test/cli\" }",
    );
    let config = world.config_file("", &jobs);
    let replica = Replica::start(&config, "cli-replica").await;
    world.wait_holder("cli-job", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The admin port: health with the jobs held, and metrics.
    let http = reqwest::Client::new();
    let health: serde_json::Value = http
        .get(format!("http://{}/health", replica.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["replica_id"], replica.id.as_str());
    assert_eq!(health["jobs_owned"], serde_json::json!(["cli-job"]));
    let metrics = http
        .get(format!("http://{}/metrics", replica.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for family in [
        "flexcore_scheduler_tick_lag_seconds_bucket{job=\"cli-job\"",
        "flexcore_scheduler_runs_total{job=\"cli-job\",status=\"succeeded\"}",
        "flexcore_scheduler_lock_held{job=\"cli-job\"} 1",
    ] {
        assert!(metrics.contains(family), "{family} in:\n{metrics}");
    }

    let (ok, out, err) = cli(&config, &["jobs", "list"]).await;
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("cli-job"))
        .unwrap_or_else(|| panic!("{out}"));
    for part in ["every 1s", "windmill_script:f/test/cli", "active", "cli-replica"] {
        assert!(line.contains(part), "`{part}` in {line}");
    }
    // The last run: finished, or (claimed ahead of its due time) about to run.
    assert!(
        ["succeeded", "claimed", "running"].iter().any(|s| line.ends_with(s)),
        "a last run in {line}"
    );

    let (ok, _, err) = cli(&config, &["jobs", "pause", "cli-job"]).await;
    assert!(ok, "{err}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let paused_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ok, out, _) = cli(&config, &["--json", "jobs", "list"]).await;
    assert!(ok && out.contains("\"state\":\"paused\""), "{out}");
    let (ok, _, err) = cli(&config, &["jobs", "resume", "cli-job"]).await;
    assert!(ok, "{err}");
    let resumed_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    replica.stop().await;

    let runs = world.runs_of("cli-job").await;
    assert!(
        !runs
            .iter()
            .any(|r| r.scheduled_at > paused_at && r.scheduled_at < resumed_at),
        "no tick fired, nor was caught up, while paused: {runs:#?}"
    );
    assert!(
        runs.iter().any(|r| r.scheduled_at > resumed_at),
        "it fires again once resumed"
    );

    let (ok, out, err) = cli(&config, &["runs", "cli-job", "--last", "3"]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "a header and 3 runs:\n{out}");
    assert!(
        lines[0].starts_with("SCHEDULED") && lines[1].contains("cli-replica"),
        "{out}"
    );

    let (ok, _, err) = cli(&config, &["jobs", "pause", "no-such-job"]).await;
    assert!(!ok && err.contains("no-such-job"), "{err}");
}

#[tokio::test]
async fn unknown_keys_and_bad_values_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[jobs]]\nname = \"a\"\nevrey = \"1s\"\ntarget = { function = \"echo\" }\n",
            "jobs[0]",
            "evrey",
        ),
        (
            "[gateway]\nnodes = [\"http://x\"]\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\noverlap = \"sometimes\"\ntarget = { function = \"echo\" }\n",
            "jobs[0].overlap",
            "sometimes",
        ),
        (
            "[gateway]\nnodes = [\"http://x\"]\n[[jobs]]\nname = \"a\"\ncron = \"0 * * * *\"\ntimezone = \"Mars/Base\"\ntarget = { function = \"echo\" }\n",
            "jobs[0].timezone",
            "Mars/Base",
        ),
        (
            "[[jobs]]\nname = \"a\"\nevery = \"1s\"\ntarget = { windmill_script = \"f/a/b\" }\n",
            "jobs[0].target",
            "[windmill]",
        ),
        (
            "[windmill]\nbase_url = \"http://127.0.0.1:1\"\n",
            "windmill.token",
            "token",
        ),
        ("retention = \"soon\"\n", "retention", ""),
    ];
    for (i, (toml, key, detail)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&file, toml).unwrap();
        let finished = run_scheduler(&["--config", file.to_str().unwrap()]).await;
        let stderr = finished.stderr;
        assert!(!finished.status.success(), "{toml} was accepted");
        assert!(
            stderr.contains(key) && stderr.contains(detail),
            "`{key}`/`{detail}` named in: {stderr}"
        );
    }
}
