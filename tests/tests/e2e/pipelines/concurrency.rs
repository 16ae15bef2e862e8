//! Two gateway processes on one database change the same pipeline at the
//! same moment: optimistic concurrency lets exactly one of two racing
//! changes through and answers the other 409, and no change is ever lost.

use flexcore_tests::{GatewayProcess, TestDatabase, assert_error};
use reqwest::Response;
use serde_json::{Value, json};

use super::{Api, id_of, json_of};

/// Design. Two `flexcore-gateway` processes, A and B, are started at once on
/// one fresh database (so their migrations race too). The test keeps a model
/// of the steps the pipeline must have, and counts the changes that
/// succeeded.
///
/// 1. **100 add races with `If-Match`.** Each round, A and B both read the
///    pipeline (and must agree, with each other and with the model), then
///    both add a step of their own (config `{round, node}`, so every step is
///    told apart) with `If-Match` of the version they read, at the same
///    moment. Exactly one must answer 200 (its step is then the last one)
///    and the other 409 `version_conflict`: two 200s would be a lost update,
///    two 409s a change refused for nothing.
/// 2. **Remove races**, so that the 64-step limit is never what is measured:
///    whenever the model reaches 40 steps, A and B race to remove step 0 with
///    `If-Match`, under the same one-200-one-409 rule.
/// 3. **25 rounds without `If-Match`**: both add at the same moment and both
///    must succeed (a lost race is retried inside the gateway), each answer
///    ending with its own step; then both remove step 0 at once and both
///    succeed, taking the two oldest steps.
///
/// In the end both processes must show exactly the model's steps, in order,
/// and a version equal to the number of successful changes (a new pipeline
/// is at version 0, each change adds 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_racing_on_one_pipeline_lose_nothing() {
    let db = TestDatabase::create().await;
    let env = [("FLEXCORE_DATABASE_URL", db.url())];
    let (a, b) = tokio::join!(
        GatewayProcess::spawn(&["--node-id", "racer-a"], &env),
        GatewayProcess::spawn(&["--node-id", "racer-b"], &env),
    );
    let (a, b) = (Api::new(&a.client, a.addr), Api::new(&b.client, b.addr));
    let id = id_of(&a.create_ok("contested", &[]).await);
    let mut model: Vec<Value> = Vec::new();
    let mut changes = 0u64;
    let mut races = 0u32;

    for round in 0..100 {
        let version = both_read(&a, &b, &id, &model, changes).await;
        let steps = [step(round, "a"), step(round, "b")];
        let tag = version.to_string();
        let (from_a, from_b) = tokio::join!(
            a.add_step(&id, &steps[0], Some(&tag)),
            b.add_step(&id, &steps[1], Some(&tag)),
        );
        let (winner, pipeline) = one_wins(from_a, from_b, version).await;
        model.push(steps[winner].clone());
        changes += 1;
        races += 1;
        assert_eq!(pipeline["steps"], Value::from(model.clone()), "round {round}");

        if model.len() >= 40 {
            let version = both_read(&a, &b, &id, &model, changes).await;
            let tag = version.to_string();
            let (from_a, from_b) =
                tokio::join!(a.remove_step(&id, "0", Some(&tag)), b.remove_step(&id, "0", Some(&tag)),);
            let (_, pipeline) = one_wins(from_a, from_b, version).await;
            model.remove(0);
            changes += 1;
            races += 1;
            assert_eq!(pipeline["steps"], Value::from(model.clone()), "round {round}");
        }
    }

    for round in 100..125 {
        let version = both_read(&a, &b, &id, &model, changes).await;
        let steps = [step(round, "a"), step(round, "b")];
        let (from_a, from_b) = tokio::join!(a.add_step(&id, &steps[0], None), b.add_step(&id, &steps[1], None));
        let (from_a, from_b) = (json_of(from_a, 200).await, json_of(from_b, 200).await);
        assert_eq!(from_a["steps"].as_array().unwrap().last(), Some(&steps[0]));
        assert_eq!(from_b["steps"].as_array().unwrap().last(), Some(&steps[1]));
        let mut versions = [from_a["version"].as_u64(), from_b["version"].as_u64()];
        versions.sort();
        assert_eq!(versions, [Some(version + 1), Some(version + 2)], "round {round}");
        // Both went in, in the order the database saw them.
        let (first, second) = if versions[0] == from_a["version"].as_u64() {
            (0, 1)
        } else {
            (1, 0)
        };
        model.push(steps[first].clone());
        model.push(steps[second].clone());
        changes += 2;

        let (from_a, from_b) = tokio::join!(a.remove_step(&id, "0", None), b.remove_step(&id, "0", None));
        json_of(from_a, 200).await;
        json_of(from_b, 200).await;
        model.drain(..2);
        changes += 2;
    }

    both_read(&a, &b, &id, &model, changes).await;
    assert_eq!(
        races,
        100 + (100 - 39),
        "100 add races and a remove race per round from 40 steps on"
    );
}

/// A step told apart from every other by its config.
fn step(round: u32, node: &str) -> Value {
    json!({ "plugin": "echo", "config": { "round": round, "node": node } })
}

/// Both processes read the pipeline: they must agree with each other and
/// with the model (steps, and a version equal to the changes so far).
async fn both_read(a: &Api, b: &Api, id: &str, model: &[Value], changes: u64) -> u64 {
    let (seen_a, seen_b) = tokio::join!(a.pipeline(id), b.pipeline(id));
    assert_eq!(seen_a, seen_b, "both processes read the same pipeline");
    assert_eq!(seen_a["steps"], Value::from(model.to_vec()), "no step lost or added");
    assert_eq!(seen_a["version"], changes, "the version counts the successful changes");
    changes
}

/// Of two racing changes with the same `If-Match`, exactly one succeeds and
/// the other is a 409; returns which succeeded (0 for A) and its pipeline.
async fn one_wins(from_a: Response, from_b: Response, version: u64) -> (usize, Value) {
    let statuses = (from_a.status().as_u16(), from_b.status().as_u16());
    let (winner, won, lost) = match statuses {
        (200, 409) => (0, from_a, from_b),
        (409, 200) => (1, from_b, from_a),
        other => {
            let texts = (from_a.text().await.unwrap(), from_b.text().await.unwrap());
            panic!("racing changes at version {version} answered {other:?}: {texts:?}");
        }
    };
    assert_error(lost, 409, "version_conflict").await;
    let pipeline = json_of(won, 200).await;
    assert_eq!(pipeline["version"], version + 1);
    (winner, pipeline)
}
