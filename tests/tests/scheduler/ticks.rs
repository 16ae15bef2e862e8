//! Three replicas, five jobs every second: every tick in the window runs
//! exactly once, counted in the runs table and by job id at Windmill.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use flexcore_scheduler::targets::windmill::job_id;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{Replica, World, align_to_second, assert_every_second, jobs_toml};

/// Seconds of steady firing checked (the 60 s, scaled for CI).
const WINDOW_SECS: i64 = 14;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_fire_every_tick_exactly_once() {
    let world = World::new(Duration::from_millis(50)).await;
    world.windmill.add_script("f/test/tick", PathBehaviour::default());
    let names = ["tick-a", "tick-b", "tick-c", "tick-d", "tick-e"];
    let jobs = jobs_toml(
        &names,
        "every = \"1s\"\noverlap = \"allow\"\ntarget = { windmill_script = \"f/test/tick\", args = { n = 1 } }",
    );
    let config = world.config_file("", &jobs);
    let replicas = [
        Replica::start(&config, "r1").await,
        Replica::start(&config, "r2").await,
        Replica::start(&config, "r3").await,
    ];
    align_to_second().await;
    // Let the replicas settle (spread the jobs), then watch a window.
    let from = Utc::now() + chrono::Duration::seconds(2);
    let to = from + chrono::Duration::seconds(WINDOW_SECS);
    tokio::time::sleep((to - Utc::now()).to_std().unwrap() + Duration::from_millis(1500)).await;
    for replica in replicas {
        replica.stop().await;
    }
    let runs = world.wait_finished(Duration::from_secs(5)).await;

    let submissions = world.windmill.submissions();
    let mut accepted: HashMap<uuid::Uuid, usize> = HashMap::new();
    for s in submissions.iter().filter(|s| s.accepted) {
        *accepted.entry(s.job_id).or_default() += 1;
    }
    let mut firing_replicas = HashSet::new();
    for name in names {
        for run in assert_every_second(&runs, name, from, to) {
            assert_eq!(run.status, "succeeded", "{run:?}");
            assert_eq!(run.attempt, 1);
            let id = job_id(name, run.scheduled_at, 1);
            assert_eq!(run.windmill_job_id, Some(id));
            assert_eq!(
                accepted.get(&id),
                Some(&1),
                "Windmill got job {id} ({name} at {}) once",
                run.scheduled_at
            );
            firing_replicas.insert(run.replica.clone());
        }
    }
    // No job id twice at all, inside the window or not.
    assert!(accepted.values().all(|n| *n == 1));
    assert_eq!(
        submissions.iter().filter(|s| !s.accepted).count(),
        0,
        "no submission was refused (no tick was submitted twice)"
    );
    assert!(
        firing_replicas.len() >= 2,
        "the jobs were spread over replicas: {firing_replicas:?}"
    );
}
