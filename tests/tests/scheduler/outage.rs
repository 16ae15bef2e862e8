//! Windmill down for 10 s, then back: every tick inside the catch-up window
//! is submitted once when it returns (runs wait as `claimed`); none is lost
//! or doubled.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use flexcore_scheduler::targets::windmill::job_id;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{Replica, World, assert_every_second, jobs_toml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windmill_outage_loses_and_doubles_no_tick() {
    let world = World::new(Duration::from_millis(50)).await;
    world.windmill.add_script("f/test/outage", PathBehaviour::default());
    let jobs = jobs_toml(
        &["out-a", "out-b"],
        "every = \"1s\"\noverlap = \"allow\"\ncatch_up = \"30s\"\n\
         target = { windmill_script = \"f/test/outage\" }",
    );
    let config = world.config_file("", &jobs);
    let replicas = [Replica::start(&config, "o1").await, Replica::start(&config, "o2").await];
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Utc::now();
    tokio::time::sleep(Duration::from_secs(2)).await;

    world.windmill.stop();
    let down_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Mid-outage: the ticks are claimed (not lost, not failed), waiting.
    let waiting: Vec<_> = world
        .runs()
        .await
        .into_iter()
        .filter(|r| r.scheduled_at > down_at + chrono::Duration::milliseconds(500))
        .collect();
    assert!(
        waiting.len() >= 6,
        "ticks go on being claimed while Windmill is down: {waiting:#?}"
    );
    assert!(waiting.iter().all(|r| r.status == "claimed"), "{waiting:#?}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    world.windmill.restart().await;
    let up_at = Utc::now();

    tokio::time::sleep(Duration::from_secs(4)).await;
    let end = Utc::now() - chrono::Duration::seconds(1);
    for replica in replicas {
        replica.stop().await;
    }
    let runs = world.wait_finished(Duration::from_secs(10)).await;
    let mut accepted: HashMap<uuid::Uuid, usize> = HashMap::new();
    for s in world.windmill.submissions().iter().filter(|s| s.accepted) {
        *accepted.entry(s.job_id).or_default() += 1;
    }
    let mut during_outage = 0;
    for name in ["out-a", "out-b"] {
        for run in assert_every_second(&runs, name, start, end) {
            assert_eq!(run.status, "succeeded", "{run:?}");
            let id = job_id(name, run.scheduled_at, 1);
            assert_eq!(
                accepted.get(&id),
                Some(&1),
                "{name} at {} reached Windmill once",
                run.scheduled_at
            );
            if run.scheduled_at > down_at && run.scheduled_at < up_at {
                during_outage += 1;
                assert!(
                    run.started_at.unwrap() >= up_at - chrono::Duration::milliseconds(100),
                    "{run:?}"
                );
            }
        }
    }
    assert!(during_outage >= 18, "ticks of the outage ran after it: {during_outage}");
}
