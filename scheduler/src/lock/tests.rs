//! The spreading plan: preferred replicas take free locks at once, others
//! after a few rounds; holders hand over to a healthy preferred replica.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::*;

fn replica(id: &str, connected_secs: u64, heartbeat_ms: u64) -> Replica {
    Replica {
        id: id.into(),
        connected_for: Duration::from_secs(connected_secs),
        heartbeat_age: Duration::from_millis(heartbeat_ms),
    }
}

fn jobs(n: usize) -> Vec<(String, i64)> {
    (0..n)
        .map(|i| {
            let name = format!("job-{i}");
            let key = crate::jobs::Job::lock_key_of(&name);
            (name, key)
        })
        .collect()
}

fn view<'a>(me: &'a str, live: &'a [Replica], holders: &'a HashMap<i64, Option<String>>) -> View<'a> {
    View {
        me,
        live,
        holders,
        handover_grace: Duration::from_secs(2),
        healthy_age: Duration::from_secs(1),
    }
}

#[test]
fn jobs_spread_over_replicas_and_each_has_one_preferred() {
    let live = [replica("a", 10, 0), replica("b", 10, 0), replica("c", 10, 0)];
    let jobs = jobs(300);
    let holders = HashMap::new();
    let mut total = 0;
    for me in ["a", "b", "c"] {
        let plan = plan(
            &view(me, &live, &holders),
            &jobs,
            &HashSet::new(),
            &mut Memory::default(),
        );
        assert!(
            (70..=130).contains(&plan.acquire.len()),
            "{me} prefers {}",
            plan.acquire.len()
        );
        total += plan.acquire.len();
    }
    assert_eq!(total, 300, "each job is preferred by exactly one replica");
}

#[test]
fn a_free_lock_is_taken_by_others_only_after_some_rounds() {
    let live = [replica("a", 10, 0), replica("b", 10, 0)];
    let jobs = jobs(50);
    let holders = HashMap::new();
    let theirs: Vec<_> = jobs
        .iter()
        .filter(|(name, _)| preferred(name, &live).unwrap().id == "a")
        .cloned()
        .collect();
    let mut memory = Memory::default();
    for round in 1..=TAKEOVER_ROUNDS {
        let plan = plan(&view("b", &live, &holders), &theirs, &HashSet::new(), &mut memory);
        assert_eq!(plan.acquire.is_empty(), round < TAKEOVER_ROUNDS, "round {round}");
    }
}

#[test]
fn a_holder_hands_over_to_a_healthy_settled_preferred_replica_only() {
    let jobs = jobs(50);
    let (name, key) = jobs
        .iter()
        .find(|(name, _)| preferred(name, &[replica("a", 0, 0), replica("b", 0, 0)]).unwrap().id == "a")
        .cloned()
        .unwrap();
    let owned: HashSet<String> = [name.clone()].into();
    let holders: HashMap<i64, Option<String>> = [(key, Some("b".to_owned()))].into();
    let one = [(name.clone(), key)];
    let decide = |a: Replica, memory: &mut Memory| {
        let live = [a, replica("b", 10, 0)];
        plan(&view("b", &live, &holders), &one, &owned, memory).release
    };
    assert!(
        decide(replica("a", 0, 0), &mut Memory::default()).is_empty(),
        "just connected"
    );
    assert!(
        decide(replica("a", 10, 1500), &mut Memory::default()).is_empty(),
        "stale heartbeat"
    );
    assert_eq!(
        decide(replica("a", 10, 100), &mut Memory::default()),
        std::slice::from_ref(&name)
    );
    let mut memory = Memory::default();
    memory.took_over(&name, 3);
    assert!(
        decide(replica("a", 10, 100), &mut memory).is_empty(),
        "kept a while after a takeover"
    );
    assert!(decide(replica("a", 10, 100), &mut memory).is_empty());
    assert_eq!(decide(replica("a", 10, 100), &mut memory), [name]);
}
