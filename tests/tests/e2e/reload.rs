//! `POST /plugins/reload`: new and changed files are loaded, replaced and
//! removed ones retired, broken ones refused while the old version serves,
//! and callers never notice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flexcore_tests::artifacts::artifact;
use flexcore_tests::c_plugins::CPlugin;
use flexcore_tests::{TestGateway, assert_error, compile_c, replace_file};
use serde_json::{Value, json};

/// The names in a reload report's list `key` (`retired`, `unchanged`).
fn names(report: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = report[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` in {report}"))
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The `(name, version)` pairs a reload report lists under `loaded`.
fn loaded(report: &Value) -> Vec<(String, String)> {
    report["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["version"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn pair(name: &str, version: &str) -> (String, String) {
    (name.into(), version.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_a_plugin_under_load_loses_no_request() {
    let gw = Arc::new(TestGateway::start(|_| {}).await);
    let builds = tempfile::tempdir().unwrap();
    let echo_v2 = compile_c(builds.path(), "libecho", &CPlugin::echo("echo", "2.0.0").source());
    let echo_v1 = artifact("libecho.so");
    let target = gw.plugin_dir().join("libecho.so");

    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let until = Instant::now() + Duration::from_secs(2);
    let load: Vec<_> = (0..8)
        .map(|task| {
            let (gw, ok, failed) = (Arc::clone(&gw), Arc::clone(&ok), Arc::clone(&failed));
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    let body = format!("task {task} call {n}");
                    let response = gw.execute("echo", body.clone()).await;
                    let status = response.status();
                    let text = response.text().await.unwrap();
                    if status == 200 && text == body {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        eprintln!("echo failed under reload: {status} {text}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();

    for (file, version) in [(&echo_v2, "2.0.0"), (&echo_v1, "1.0.0"), (&echo_v2, "2.0.0")] {
        tokio::time::sleep(Duration::from_millis(250)).await;
        replace_file(file, &target);
        let report = gw.reload_ok().await;
        assert_eq!(loaded(&report), [pair("echo", version)], "{report}");
        assert_eq!(names(&report, "retired"), ["echo"], "{report}");
        assert_eq!(report["refused"], json!([]), "{report}");
    }
    let report = gw.reload_ok().await;
    assert_eq!(loaded(&report), [], "{report}");
    assert_eq!(
        names(&report, "unchanged"),
        ["data-processor", "echo", "faulty", "wordcount"]
    );

    for task in load {
        task.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "{failed} of {} calls failed", ok + failed);
    assert!(ok > 100, "only {ok} calls in 2 s");

    let echo = gw.plugin("echo").await.unwrap();
    assert_eq!(echo["version"], "2.0.0");
    assert_eq!(echo["file"], target.to_str().unwrap());
    let response = gw.execute("echo", "from C").await;
    assert_eq!(response.text().await.unwrap(), "from C");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_files_are_loaded_and_removed_ones_retired() {
    let gw = TestGateway::start(|_| {}).await;
    compile_c(gw.plugin_dir(), "libshout", &CPlugin::echo("shout", "0.3.0").source());
    std::fs::remove_file(gw.plugin_dir().join("libfaulty.so")).unwrap();

    let report = gw.reload_ok().await;
    assert_eq!(loaded(&report), [pair("shout", "0.3.0")], "{report}");
    assert_eq!(names(&report, "retired"), ["faulty"], "{report}");
    assert_eq!(names(&report, "unchanged"), ["data-processor", "echo", "wordcount"]);

    let response = gw.execute("shout", "new here").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "new here");
    assert_error(gw.execute("faulty", "x").await, 404, "plugin_not_found").await;
    assert!(gw.plugin("faulty").await.is_none());
    assert_eq!(gw.plugin("shout").await.unwrap()["version"], "0.3.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_replacement_is_refused_and_the_old_version_serves() {
    let gw = TestGateway::start(|_| {}).await;
    let target = gw.plugin_dir().join("libecho.so");
    std::fs::write(&target, "not a shared object any more").unwrap();

    let report = gw.reload_ok().await;
    assert_eq!(loaded(&report), [], "{report}");
    assert_eq!(names(&report, "retired"), Vec::<String>::new(), "{report}");
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["file"], target.to_str().unwrap());
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a loadable shared object"),
        "{report}"
    );

    let response = gw.execute("echo", "still v1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "still v1");
    let echo = gw.plugin("echo").await.unwrap();
    assert_eq!(echo["version"], "1.0.0");
    let list = gw.get_json("/plugins").await;
    assert_eq!(list["refused"].as_array().unwrap().len(), 1, "{list}");
}
