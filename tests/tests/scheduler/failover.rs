//! `kill -9` of the replica holding a job: another replica fires it within
//! 2 s; the ticks of the gap run once, as catch-up; none runs twice.

use std::time::Duration;

use chrono::Utc;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{ReplicaProcess, World, assert_every_second, jobs_toml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_job_moves_within_two_seconds_and_gap_ticks_run_once() {
    let world = World::new(Duration::from_millis(50)).await;
    world.windmill.add_script("f/test/failover", PathBehaviour::default());
    let jobs = jobs_toml(
        &["fo-a", "fo-b", "fo-c"],
        "every = \"1s\"\noverlap = \"allow\"\ncatch_up = \"30s\"\n\
         target = { windmill_script = \"f/test/failover\" }",
    );
    let config = world.config_file("", &jobs);
    let mut replicas = [
        ReplicaProcess::spawn(&world, &config, "p1").await,
        ReplicaProcess::spawn(&world, &config, "p2").await,
        ReplicaProcess::spawn(&world, &config, "p3").await,
    ];
    // Long enough for every job to sit on its preferred replica.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let start = Utc::now() - chrono::Duration::seconds(3);
    let (holder, _) = world.wait_holder("fo-a", Duration::from_secs(5)).await;
    let victim = replicas.iter().position(|r| r.id == holder).unwrap();
    // Kill just before the next tick is claimed (100 ms ahead of it): the
    // others take the lock two rounds (>= 250 ms) later, so it falls in the gap.
    crate::harness::align_to_second().await;
    tokio::time::sleep(Duration::from_millis(780)).await;
    let killed_at = Utc::now();
    replicas[victim].kill().await;

    tokio::time::sleep(Duration::from_secs(6)).await;
    let end = Utc::now() - chrono::Duration::seconds(1);
    // Let adopted runs of the dead replica finish too.
    let runs = world.wait_finished(Duration::from_secs(10)).await;
    let runs_a = assert_every_second(&runs, "fo-a", start, end);
    let first_elsewhere = runs_a
        .iter()
        .find(|r| r.replica != holder && r.claimed_at > killed_at)
        .unwrap_or_else(|| panic!("nobody else fired fo-a: {runs_a:#?}"));
    let failover = first_elsewhere.claimed_at - killed_at;
    println!(
        "failover: fo-a first fired by {} {} ms after kill -9 of {holder}",
        first_elsewhere.replica,
        failover.num_milliseconds()
    );
    assert!(failover <= chrono::Duration::seconds(2), "failover took {failover}");
    // Ticks due after the kill but before the new owner had the lock ran late,
    // once, marked as catch-up; ticks on time are not.
    for run in runs_a
        .iter()
        .filter(|r| r.scheduled_at > killed_at && r.replica != holder)
    {
        let late = run.claimed_at - run.scheduled_at;
        if late > chrono::Duration::milliseconds(300) {
            assert!(run.catch_up, "a tick run {late} late is catch-up: {run:?}");
        }
        if run.catch_up {
            assert!(late > chrono::Duration::zero(), "{run:?}");
        }
    }
    let gap_tick = runs_a.iter().find(|r| r.scheduled_at > killed_at).unwrap();
    assert!(
        gap_tick.catch_up && gap_tick.replica != holder,
        "the tick due in the gap ran once, as catch-up, elsewhere: {gap_tick:?}"
    );
    for job in ["fo-b", "fo-c"] {
        assert_every_second(&runs, job, start, end);
    }
    for run in runs.iter().filter(|r| r.scheduled_at >= start && r.scheduled_at <= end) {
        assert_eq!(run.status, "succeeded", "{run:?}");
    }
    // At Windmill: each accepted job id once (a resubmission by an adopter
    // is refused as "already exists", never run again).
    let mut seen = std::collections::HashSet::new();
    for s in world.windmill.submissions().iter().filter(|s| s.accepted) {
        assert!(seen.insert(s.job_id), "job {} started twice", s.job_id);
    }
}
