//! Jobs: specs round-trip through the database's JSON; lock keys are fixed;
//! retry backoff doubles.

use super::*;

fn spec(toml: &str) -> JobSpec {
    toml::from_str(toml).unwrap()
}

#[test]
fn a_spec_survives_the_json_of_the_database() {
    let s = spec(
        "name = \"a\"\nevery = \"90s\"\ntarget = { windmill_script = \"f/x/y\", args = { k = [1, 2] } }\n\
         retry = { attempts = 2, backoff = \"1s\" }\noverlap = \"buffer_one\"",
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["every"], "1m 30s");
    let back: JobSpec = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
    let job = Job::from_spec(back).unwrap();
    assert_eq!(job.overlap, Overlap::BufferOne);
    assert_eq!(
        job.target,
        Target::WindmillScript {
            path: "f/x/y".into(),
            args: serde_json::json!({ "k": [1, 2] })
        }
    );
}

#[test]
fn lock_keys_are_a_fixed_hash_of_the_name() {
    // FNV-1a 64 of "flexcore-scheduler/job/nightly-report", forever.
    assert_eq!(
        Job::lock_key_of("nightly-report"),
        flexcore_infra::postgres::lock_key("flexcore-scheduler/job/nightly-report")
    );
    assert_ne!(Job::lock_key_of("a"), Job::lock_key_of("b"));
}

#[test]
fn retry_backoff_doubles_from_the_second_attempt() {
    let job = Job::from_spec(spec(
        "name = \"a\"\nevery = \"1s\"\ntarget = { function = \"f\" }\nretry = { attempts = 5, backoff = \"2s\" }",
    ))
    .unwrap();
    let waits: Vec<u64> = (2..=5).map(|n| job.backoff_before(n).as_secs()).collect();
    assert_eq!(waits, [2, 4, 8, 16]);
}

#[test]
fn targets_take_only_their_own_fields() {
    let e = Job::from_spec(spec(
        "name = \"a\"\nevery = \"1s\"\ntarget = { function = \"f\", args = {} }",
    ))
    .unwrap_err();
    assert_eq!(e.0, "target.args");
    let e = Job::from_spec(spec(
        "name = \"a\"\nevery = \"1s\"\ntarget = { windmill_flow = \"f/a/b\", payload = 1 }",
    ))
    .unwrap_err();
    assert_eq!(e.0, "target.payload");
    let e = Job::from_spec(spec(
        "name = \"a\"\nevery = \"1s\"\ntimezone = \"UTC\"\ntarget = { function = \"f\" }",
    ))
    .unwrap_err();
    assert_eq!(e.0, "timezone");
}
