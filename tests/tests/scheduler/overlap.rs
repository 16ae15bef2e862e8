//! `overlap = "skip"`: ticks that come while the job's previous run is
//! unfinished are recorded as `skipped`, and never reach Windmill.

use std::time::Duration;

use chrono::Utc;
use flexcore_scheduler::targets::windmill::job_id;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{Replica, World, assert_every_second, jobs_toml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_ticks_are_recorded_as_skipped() {
    let world = World::new(Duration::from_millis(30)).await;
    world.windmill.add_script(
        "f/test/long",
        PathBehaviour {
            duration: Some(Duration::from_millis(2500)),
            ..Default::default()
        },
    );
    let jobs = jobs_toml(
        &["long"],
        "every = \"1s\"\noverlap = \"skip\"\ntarget = { windmill_script = \"f/test/long\" }",
    );
    let config = world.config_file("", &jobs);
    let replica = Replica::start(&config, "v1").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let start = Utc::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let end = Utc::now() - chrono::Duration::milliseconds(500);
    replica.stop().await;
    let runs = world.runs().await;
    let window = assert_every_second(&runs, "long", start, end);
    let skipped: Vec<_> = window.iter().filter(|r| r.status == "skipped").collect();
    let ran: Vec<_> = window.iter().filter(|r| r.status != "skipped").collect();
    assert!(skipped.len() >= 4, "{window:#?}");
    assert!(ran.len() >= 2, "{window:#?}");
    let accepted: Vec<_> = world
        .windmill
        .submissions()
        .iter()
        .filter(|s| s.accepted)
        .map(|s| s.job_id)
        .collect();
    for run in &skipped {
        assert!(run.windmill_job_id.is_none() && run.finished_at.is_some(), "{run:?}");
        assert!(
            !accepted.contains(&job_id("long", run.scheduled_at, 1)),
            "a skipped tick never reaches Windmill"
        );
    }
    // Never two at once: each run that ran started after the previous ended.
    for pair in ran.windows(2) {
        if let (Some(end), Some(start)) = (pair[0].finished_at, pair[1].started_at) {
            assert!(start >= end, "{:?} overlaps {:?}", pair[0], pair[1]);
        }
    }
}
