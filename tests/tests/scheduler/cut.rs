//! A replica whose lock connection is cut (`pg_terminate_backend`) stops
//! firing at once; its job moves to another replica without a duplicate.

use std::time::Duration;

use chrono::Utc;
use flexcore_tests::windmill_standin::PathBehaviour;

use crate::harness::{Replica, World, assert_every_second, jobs_toml};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_replica_stops_firing_and_its_job_moves_without_a_duplicate() {
    let world = World::new(Duration::from_millis(50)).await;
    world.windmill.add_script("f/test/cut", PathBehaviour::default());
    let jobs = jobs_toml(
        &["cut-a", "cut-b"],
        "every = \"1s\"\noverlap = \"allow\"\ntarget = { windmill_script = \"f/test/cut\" }",
    );
    let config = world.config_file("", &jobs);
    let replicas = [
        Replica::start(&config, "c1").await,
        Replica::start(&config, "c2").await,
        Replica::start(&config, "c3").await,
    ];
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = Utc::now() - chrono::Duration::seconds(1);
    let (holder, pid) = world.wait_holder("cut-a", Duration::from_secs(5)).await;
    crate::harness::align_to_second().await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let admin = flexcore_tests::database::connect(&flexcore_tests::database::admin_url()).await;
    let cut_at = Utc::now();
    let terminated: bool = admin
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(terminated);

    tokio::time::sleep(Duration::from_secs(5)).await;
    // When the cut replica had a lock connection again (if it did).
    let reconnected_at: chrono::DateTime<Utc> = world
        .db
        .client()
        .await
        .query_one("SELECT connected_at FROM scheduler_replicas WHERE id = $1", &[&holder])
        .await
        .unwrap()
        .get(0);
    let end = Utc::now() - chrono::Duration::seconds(1);
    for replica in replicas {
        replica.stop().await;
    }
    let runs = world.wait_finished(Duration::from_secs(5)).await;
    assert!(
        reconnected_at > cut_at,
        "the cut replica came back (connected at {reconnected_at})"
    );
    // Nothing was claimed by the cut replica between the cut and its new
    // connection: it stopped firing at once.
    let during_cut: Vec<_> = runs
        .iter()
        .filter(|r| r.replica == holder && r.claimed_at > cut_at && r.claimed_at < reconnected_at)
        .collect();
    assert!(during_cut.is_empty(), "{holder} fired while cut off: {during_cut:#?}");
    let runs_a = assert_every_second(&runs, "cut-a", start, end);
    let moved = runs_a.iter().find(|r| r.scheduled_at > cut_at).unwrap();
    assert_ne!(
        moved.replica, holder,
        "the first tick after the cut ran elsewhere: {moved:?}"
    );
    assert_every_second(&runs, "cut-b", start, end);
    assert!(
        runs.iter()
            .filter(|r| r.scheduled_at <= end)
            .all(|r| r.status == "succeeded")
    );
    let submissions = world.windmill.submissions();
    assert!(submissions.iter().all(|s| s.accepted), "no job id was submitted twice");
    let mut ids: Vec<_> = submissions.iter().map(|s| s.job_id).collect();
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before);
}
