//! Scenario files, flags and setup requests.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::*;

#[test]
fn sizes_parse_in_binary_units() {
    assert_eq!(parse_size("64").unwrap(), 64);
    assert_eq!(parse_size("1KiB").unwrap(), 1024);
    assert_eq!(parse_size("64 KiB").unwrap(), 65536);
    assert_eq!(parse_size("1.5k").unwrap(), 1536);
    assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
    assert!(parse_size("12 parsecs").is_err());
}

#[test]
fn a_file_with_setup_and_a_mix() {
    let text = r#"
        [[setup]]
        method = "POST"
        path = "/pipelines"
        body = '{"id":"p"}'
        headers = { content-type = "application/json" }
        accept = [201, 409]

        [[scenario]]
        name = "echo"
        path = "/plugins/echo/execute"
        body_size = 64
        weight = 4

        [[scenario]]
        path = "/health"
    "#;
    let set = ScenarioSet::parse(text, "mix.toml", Path::new(".")).unwrap();
    assert_eq!(set.setup.len(), 1);
    assert_eq!(set.setup[0].accept, vec![201, 409]);
    assert_eq!(set.setup[0].request.headers["content-type"], "application/json");
    assert_eq!(set.scenarios[0].method, Method::POST);
    assert_eq!(set.scenarios[0].body.len(), 64);
    assert_eq!(set.scenarios[1].method, Method::GET);
    assert_eq!(set.scenarios[1].name, "mix-2");
}

#[test]
fn mistakes_in_files_are_refused_with_a_reason() {
    let dir = Path::new(".");
    let unknown = ScenarioSet::parse("[[scenario]]\npath='/'\nbodyy='x'", "f.toml", dir);
    assert!(format!("{:#}", unknown.unwrap_err()).contains("bodyy"));
    let two_bodies = ScenarioSet::parse("[[scenario]]\npath='/'\nbody='x'\nbody_size=3", "f.toml", dir);
    assert!(format!("{:#}", two_bodies.unwrap_err()).contains("at most one"));
    let relative = ScenarioSet::parse("[[scenario]]\npath='health'", "f.toml", dir);
    assert!(format!("{:#}", relative.unwrap_err()).contains("must start with '/'"));
    assert!(ScenarioSet::parse("description='x'", "f.toml", dir).is_err());
}

/// Every file shipped in `benches/scenarios/` parses, so the README's commands work.
#[test]
fn the_shipped_scenario_files_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            ScenarioSet::load(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 5, "only {seen} scenario files");
}

#[test]
fn captured_values_fill_later_requests() {
    let text = r#"
        [[setup]]
        path = "/pipelines"
        body = '{"name":"p"}'
        capture = { pid = "/id" }

        [[scenario]]
        path = "/pipelines/${pid}/execute"
        body = '{"run":"${pid}"}'
        headers = { x-pipeline = "${pid}" }
    "#;
    let set = ScenarioSet::parse(text, "p.toml", Path::new(".")).unwrap();
    assert_eq!(set.setup[0].capture, vec![("pid".to_owned(), "/id".to_owned())]);
    let vars = BTreeMap::from([("pid".to_owned(), "p-42".to_owned())]);
    let bound = set.scenarios[0].bind(&vars).unwrap();
    assert_eq!(bound.path, "/pipelines/p-42/execute");
    assert_eq!(&bound.body[..], br#"{"run":"p-42"}"#);
    assert_eq!(bound.headers["x-pipeline"], "p-42");
    let unbound = set.scenarios[0].bind(&BTreeMap::new()).unwrap_err();
    assert!(format!("{unbound:#}").contains("${pid}"));
}
