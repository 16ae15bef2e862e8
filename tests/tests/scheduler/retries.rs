//! A failing Windmill job is retried per policy, each attempt under its own
//! job id; a job past its timeout is cancelled at Windmill.

use std::time::Duration;

use flexcore_scheduler::targets::windmill::job_id;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{Replica, World, jobs_toml, run_scheduler};

/// Asks for a manual run through the CLI, as an operator would.
async fn trigger(config: &std::path::Path, job: &str) {
    let finished = run_scheduler(&["--config", config.to_str().unwrap(), "jobs", "trigger", job]).await;
    assert!(finished.status.success(), "jobs trigger failed: {}", finished.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_retried_with_a_new_job_id_per_attempt() {
    let world = World::new(Duration::from_millis(30)).await;
    world.windmill.add_script(
        "f/test/broken",
        PathBehaviour {
            always_fail: true,
            ..Default::default()
        },
    );
    world.windmill.add_script(
        "f/test/flaky",
        PathBehaviour {
            fail_first: 1,
            ..Default::default()
        },
    );
    let mut jobs = jobs_toml(
        &["broken"],
        "every = \"1h\"\nretry = { attempts = 3, backoff = \"200ms\" }\n\
         target = { windmill_script = \"f/test/broken\" }",
    );
    jobs += &jobs_toml(
        &["flaky"],
        "every = \"1h\"\nretry = { attempts = 3, backoff = \"200ms\" }\n\
         target = { windmill_script = \"f/test/flaky\" }",
    );
    let config = world.config_file("", &jobs);
    let replica = Replica::start(&config, "t1").await;
    world.wait_holder("broken", Duration::from_secs(5)).await;
    world.wait_holder("flaky", Duration::from_secs(5)).await;
    trigger(&config, "broken").await;
    trigger(&config, "flaky").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let runs = world.wait_finished(Duration::from_secs(10)).await;
    replica.stop().await;

    let broken = runs
        .iter()
        .find(|r| r.job == "broken" && r.manual)
        .expect("the manual run of broken");
    assert!(broken.manual);
    assert_eq!((broken.status.as_str(), broken.attempt), ("failed", 3), "{broken:?}");
    let error = broken.error.as_deref().unwrap();
    assert!(error.contains("attempt 1") && error.contains("attempt 3"), "{error}");
    let expected: Vec<_> = (1..=3).map(|a| job_id("broken", broken.scheduled_at, a)).collect();
    let got: Vec<_> = world
        .windmill
        .submissions()
        .iter()
        .filter(|s| s.path == "f/test/broken" && s.accepted)
        .map(|s| s.job_id)
        .collect();
    assert_eq!(got, expected, "one job id per attempt, the first the tick's own");
    assert_eq!(broken.windmill_job_id, Some(expected[2]));

    let flaky = runs.iter().find(|r| r.job == "flaky" && r.manual).unwrap();
    assert_eq!((flaky.status.as_str(), flaky.attempt), ("succeeded", 2), "{flaky:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_timeout_is_cancelled_at_windmill() {
    let world = World::new(Duration::from_millis(30)).await;
    world.windmill.add_script(
        "f/test/slow",
        PathBehaviour {
            duration: Some(Duration::from_secs(60)),
            ..Default::default()
        },
    );
    let jobs = jobs_toml(
        &["slow"],
        "every = \"1h\"\ntimeout = \"1s\"\ntarget = { windmill_script = \"f/test/slow\" }",
    );
    let config = world.config_file("", &jobs);
    let replica = Replica::start(&config, "s1").await;
    world.wait_holder("slow", Duration::from_secs(5)).await;
    trigger(&config, "slow").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let runs = world.wait_finished(Duration::from_secs(10)).await;
    replica.stop().await;

    let run = runs.iter().find(|r| r.manual).unwrap();
    assert_eq!(run.status, "timed_out", "{run:?}");
    let id = run.windmill_job_id.unwrap();
    let cancellations = world.windmill.cancellations();
    assert_eq!(cancellations.len(), 1);
    assert_eq!(cancellations[0].0, id);
    assert!(cancellations[0].1.contains("timeout"), "{cancellations:?}");
    let job = world.windmill.jobs().into_iter().find(|j| j.id == id).unwrap();
    assert!(job.completed && job.canceled && !job.success, "{job:?}");
    let took = run.finished_at.unwrap() - run.started_at.unwrap();
    assert!(
        took < chrono::Duration::seconds(3),
        "cancelled soon after the 1 s timeout: {took}"
    );
}
