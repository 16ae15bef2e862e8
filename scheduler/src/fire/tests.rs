//! The firing loop on tokio's paused clock, with in-memory replicas of one
//! cluster: ticks once each, failover with catch-up, pause and resume.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::clock::Clock;
use crate::config::SchedulerConfig;
use crate::jobs::{JobSpec, JobStore};
use crate::memory::{Memory, MemoryStore};
use crate::runs::{Run, RunStore};
use crate::{Scheduler, Stores};

const JOBS: [&str; 3] = ["a", "b", "c"];

fn config(replica: &str) -> SchedulerConfig {
    let mut config = SchedulerConfig {
        replica_id: replica.into(),
        ..SchedulerConfig::default()
    };
    // Nothing listens there: runs fail, which is not what these tests watch.
    config.gateway.nodes = vec!["http://127.0.0.1:9".into()];
    config.jobs = JOBS
        .iter()
        .map(|name| {
            toml::from_str::<JobSpec>(&format!(
                "name = \"{name}\"\nevery = \"1s\"\ncatch_up = \"30s\"\noverlap = \"allow\"\n\
                 target = {{ function = \"echo\" }}"
            ))
            .unwrap()
        })
        .collect();
    config
}

struct Running {
    store: Arc<MemoryStore>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(memory: &Arc<Memory>, id: &str, clock: Clock) -> Running {
    let store = Arc::new(memory.replica(id));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scheduler = Scheduler::with_stores(config(id), listener, Stores::memory(Arc::clone(&store)), clock)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        scheduler
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running { store, stop, task }
}

async fn runs(store: &MemoryStore, job: &str) -> Vec<Run> {
    let mut runs = store.recent(job, 100_000).await.unwrap();
    runs.reverse();
    runs
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::milliseconds(500)
}

fn second(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(n)
}

/// Every whole second in `from..=to` has exactly one run of `job`.
fn assert_each_once(runs: &[Run], job: &str, from: i64, to: i64) {
    for n in from..=to {
        let count = runs.iter().filter(|r| r.scheduled_at == second(n)).count();
        assert_eq!(count, 1, "{job} at second {n}: {count} runs");
    }
    let mut ticks: Vec<_> = runs.iter().map(|r| r.scheduled_at).collect();
    ticks.dedup();
    assert_eq!(ticks.len(), runs.len(), "no tick twice");
}

#[tokio::test(start_paused = true)]
async fn two_replicas_fire_each_tick_once_and_fail_over_with_catch_up() {
    let clock = Clock::tokio_at(base());
    let memory = Memory::new(clock);
    let r1 = start(&memory, "r1", clock).await;
    let r2 = start(&memory, "r2", clock).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let owners: std::collections::BTreeSet<String> = {
        let mut owners = std::collections::BTreeSet::new();
        for job in JOBS {
            owners.extend(runs(&r1.store, job).await.into_iter().map(|r| r.replica));
        }
        owners
    };
    assert_eq!(owners.len(), 2, "both replicas fire: {owners:?}");

    // r1's lock connection dies: r2 takes everything; gap ticks are caught up.
    r1.store.cut();
    let cut_at = clock.now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    for job in JOBS {
        let runs = runs(&r2.store, job).await;
        assert_each_once(&runs, job, 1, 20);
        let after: Vec<_> = runs.iter().filter(|r| r.scheduled_at > cut_at).collect();
        assert!(after.iter().all(|r| r.replica == "r2"), "{after:#?}");
        for run in after {
            assert_eq!(
                run.catch_up,
                run.claimed_at > run.scheduled_at + chrono::Duration::milliseconds(100),
                "{run:?}"
            );
        }
    }
    r1.stop.send(()).unwrap();
    r2.stop.send(()).unwrap();
    r1.task.await.unwrap();
    r2.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_paused_job_does_not_fire_and_its_pause_is_not_caught_up() {
    let clock = Clock::tokio_at(base());
    let memory = Memory::new(clock);
    let r = start(&memory, "solo", clock).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    r.store.set_paused("a", true).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    r.store.set_paused("a", false).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ticks: Vec<i64> = runs(&r.store, "a")
        .await
        .iter()
        .map(|r| (r.scheduled_at - second(0)).num_seconds())
        .collect();
    // Ticks 1-3 before the pause (plus at most one more while it is seen),
    // none of the pause, then every one after the resume.
    assert!(ticks.starts_with(&[1, 2, 3]), "{ticks:?}");
    assert!(
        ticks.iter().all(|t| *t <= 5 || *t >= 9),
        "no tick of the pause: {ticks:?}"
    );
    assert!(ticks.ends_with(&[9, 10, 11]), "{ticks:?}");
    assert_each_once(&runs(&r.store, "b").await, "b", 1, 11);
    r.stop.send(()).unwrap();
    r.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_manual_trigger_runs_once_fenced() {
    let clock = Clock::tokio_at(base());
    let memory = Memory::new(clock);
    let r = start(&memory, "solo", clock).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let at = r.store.request_trigger("c").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let manual: Vec<_> = runs(&r.store, "c").await.into_iter().filter(|r| r.manual).collect();
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0].scheduled_at, at);
    assert!(r.store.pending_triggers(&["c".into()]).await.unwrap().is_empty());
    r.stop.send(()).unwrap();
    r.task.await.unwrap();
}
