//! The rules of the `Pipeline` aggregate, checked without any I/O.

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn loaded(name: &str) -> bool {
    matches!(name, "echo" | "data-processor")
}

fn step(plugin: &str) -> Step {
    Step {
        plugin: plugin.into(),
        config: None,
    }
}

fn pipeline() -> Pipeline {
    Pipeline::create("orders", "", vec![], now(), loaded).unwrap().0
}

#[test]
fn a_new_pipeline_is_a_draft_at_version_zero() {
    let (p, event) = Pipeline::create("orders", "d", vec![step("echo")], now(), loaded).unwrap();
    assert_eq!((p.status, p.version, p.steps.len()), (PipelineStatus::Draft, 0, 1));
    assert_eq!(
        event,
        DomainEvent::PipelineCreated {
            pipeline_id: p.id,
            name: "orders".into()
        }
    );
}

#[test]
fn names_are_one_to_128_printable_characters() {
    for bad in ["", "   ", "a\nb", "tab\there", &"x".repeat(129)] {
        assert_eq!(
            Pipeline::create(bad, "", vec![], now(), loaded).unwrap_err(),
            RuleViolation::InvalidName,
            "{bad:?}"
        );
    }
    for good in ["a", "Orders – EU 🇪🇺", &"é".repeat(128)] {
        assert!(Pipeline::create(good, "", vec![], now(), loaded).is_ok(), "{good:?}");
    }
}

#[test]
fn steps_must_name_loaded_plugins() {
    let mut p = pipeline();
    assert_eq!(
        p.add_step(step("nope"), now(), loaded).unwrap_err(),
        RuleViolation::UnknownPlugin("nope".into())
    );
    assert_eq!(
        Pipeline::create("x", "", vec![step("nope")], now(), loaded).unwrap_err(),
        RuleViolation::UnknownPlugin("nope".into())
    );
    assert_eq!(p.version, 0, "a refused change leaves the version alone");
}

#[test]
fn every_change_bumps_the_version_and_says_what_happened() {
    let mut p = pipeline();
    let event = p.add_step(step("echo"), now(), loaded).unwrap();
    assert_eq!(
        event,
        DomainEvent::PipelineStepAdded {
            pipeline_id: p.id,
            index: 0,
            plugin: "echo".into(),
            version: 1
        }
    );
    p.add_step(step("data-processor"), now(), loaded).unwrap();
    p.remove_step(0, now()).unwrap();
    assert_eq!(p.steps, vec![step("data-processor")]);
    p.activate(now()).unwrap();
    assert_eq!((p.status, p.version), (PipelineStatus::Active, 4));
}

#[test]
fn at_most_64_steps() {
    let mut p = pipeline();
    for _ in 0..MAX_STEPS {
        p.add_step(step("echo"), now(), loaded).unwrap();
    }
    assert_eq!(
        p.add_step(step("echo"), now(), loaded).unwrap_err(),
        RuleViolation::TooManySteps
    );
    let steps = vec![step("echo"); MAX_STEPS + 1];
    assert_eq!(
        Pipeline::create("x", "", steps, now(), loaded).unwrap_err(),
        RuleViolation::TooManySteps
    );
}

#[test]
fn descriptions_and_step_configs_hold_nothing_a_store_cannot_keep() {
    let err = Pipeline::create("x", "a\0b", vec![], now(), loaded).unwrap_err();
    assert_eq!(err, RuleViolation::InvalidDescription);
    let long = "d".repeat(MAX_DESCRIPTION_CHARS + 1);
    assert_eq!(
        Pipeline::create("x", &long, vec![], now(), loaded).unwrap_err(),
        RuleViolation::InvalidDescription
    );
    let nul = Step {
        plugin: "echo".into(),
        config: Some(serde_json::json!({"k": "a\u{0}b"})),
    };
    assert_eq!(
        pipeline().add_step(nul.clone(), now(), loaded).unwrap_err(),
        RuleViolation::InvalidStepConfig
    );
    assert_eq!(
        Pipeline::create("x", "", vec![nul], now(), loaded).unwrap_err(),
        RuleViolation::InvalidStepConfig
    );
    let fine = Step {
        plugin: "echo".into(),
        config: Some(serde_json::json!({"k": "line\nbreak"})),
    };
    assert!(pipeline().add_step(fine, now(), loaded).is_ok());
}

#[test]
fn removing_a_missing_step_is_refused() {
    let mut p = pipeline();
    assert_eq!(
        p.remove_step(0, now()).unwrap_err(),
        RuleViolation::NoSuchStep { index: 0, len: 0 }
    );
}

#[test]
fn an_archived_pipeline_cannot_change_or_run() {
    let mut p = pipeline();
    p.add_step(step("echo"), now(), loaded).unwrap();
    p.archive(now()).unwrap();
    assert_eq!(
        p.add_step(step("echo"), now(), loaded).unwrap_err(),
        RuleViolation::Archived
    );
    assert_eq!(p.remove_step(0, now()).unwrap_err(), RuleViolation::Archived);
    assert_eq!(p.activate(now()).unwrap_err(), RuleViolation::Archived);
    assert_eq!(p.archive(now()).unwrap_err(), RuleViolation::Archived);
    assert_eq!(p.check_executable().unwrap_err(), RuleViolation::Archived);
}

#[test]
fn an_empty_pipeline_cannot_run() {
    let mut p = pipeline();
    assert_eq!(p.check_executable().unwrap_err(), RuleViolation::Empty);
    p.add_step(step("echo"), now(), loaded).unwrap();
    assert!(p.check_executable().is_ok());
}
