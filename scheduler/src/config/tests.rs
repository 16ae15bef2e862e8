//! Configuration: the issue's example file loads; bad values name their key.

use super::*;

fn load(toml: &str) -> Result<SchedulerConfig, ConfigError> {
    let dir = std::env::temp_dir().join(format!("flexcore-sched-cfg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&dir, toml).unwrap();
    let loaded = ConfigLoader::new()
        .file(Some(&dir))
        .and_then(|l| l.env_from(ENV_VARS, |_| None))
        .and_then(ConfigLoader::build::<SchedulerConfig>)
        .and_then(|mut c| {
            c.resolve_token_file()?;
            c.validate()?;
            Ok(c)
        });
    std::fs::remove_file(&dir).ok();
    loaded
}

const EXAMPLE: &str = r#"
[windmill]
base_url = "http://127.0.0.1:8000"
token = "secret-windmill-token"
workspace = "flexcore"

[[jobs]]
name = "nightly-report"
every = "1s"
target = { windmill_script = "f/flexcore/report", args = { day = "today" } }
retry = { attempts = 3, backoff = "2s" }
overlap = "skip"
catch_up = "30s"

[[jobs]]
name = "berlin"
cron = "0 */5 * * * *"
timezone = "Europe/Berlin"
target = { windmill_flow = "f/flexcore/etl", args = { x = 1 } }
"#;

#[test]
fn the_example_of_the_issue_loads() {
    let c = load(EXAMPLE).unwrap();
    assert_eq!(c.jobs.len(), 2);
    assert_eq!(c.jobs[0].retry.attempts, 3);
    assert_eq!(c.jobs[0].catch_up, Duration::from_secs(30));
    let job = Job::from_spec(c.jobs[1].clone()).unwrap();
    assert_eq!(job.schedule.describe(), "cron 0 */5 * * * * (Europe/Berlin)");
    assert!(
        !format!("{c:?}").contains("secret-windmill-token"),
        "the token never prints"
    );
}

#[test]
fn defaults_run_alone_without_services() {
    let c = SchedulerConfig::default();
    c.validate().unwrap();
    assert!(c.database_url.is_none() && c.windmill.is_none() && c.jobs.is_empty());
    assert!(c.replica_id.contains('-'), "host name and pid: {}", c.replica_id);
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    let cases = [
        (
            "[[jobs]]\nname = \"a\"\nevery = \"1s\"\nbogus = 1\ntarget = { function = \"f\" }",
            "jobs[0]",
            "bogus",
        ),
        (
            "[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\ncron = \"* * * * *\"\ntarget = { function = \"f\" }",
            "jobs[0].every",
            "exactly one",
        ),
        (
            "[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\nevery = \"100ms\"\ntarget = { function = \"f\" }",
            "jobs[0].every",
            "at least",
        ),
        (
            "[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\ncron = \"99 * * * *\"\ntarget = { function = \"f\" }",
            "jobs[0].cron",
            "99",
        ),
        (
            "[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\ntarget = { function = \"f\", windmill_script = \"f/a/b\" }",
            "jobs[0].target",
            "exactly one",
        ),
        (
            "[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\nretry = { attempts = 0 }\ntarget = { function = \"f\" }",
            "jobs[0].retry.attempts",
            "1 to",
        ),
        (
            "[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\ntarget = { function = \"f\" }\n[[jobs]]\nname = \"a\"\nevery = \"2s\"\ntarget = { function = \"f\" }",
            "jobs[1].name",
            "twice",
        ),
        (
            "[windmill]\nbase_url = \"http://w\"\ntoken = \"t\"\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\ntarget = { windmill_script = \"report\" }",
            "jobs[0].target.windmill_script",
            "f/folder",
        ),
        (
            "[windmill]\nbase_url = \"http://w\"\ntoken_file = \"/nonexistent/token\"",
            "windmill.token_file",
            "cannot read",
        ),
        (
            "retention = \"1m\"\n[gateway]\nnodes = [\"http://n\"]\n[[jobs]]\nname = \"a\"\nevery = \"1s\"\ncatch_up = \"1h\"\ntarget = { function = \"f\" }",
            "retention",
            "catch_up",
        ),
        ("replica_id = \"bad id\"", "replica_id", "characters"),
    ];
    for (toml, key, detail) in cases {
        let e = load(toml).unwrap_err().to_string();
        assert!(
            e.contains(key) && e.contains(detail),
            "`{key}` / `{detail}` in: {e}\n(for {toml})"
        );
    }
}

#[test]
fn a_token_file_is_read() {
    let file = std::env::temp_dir().join(format!("flexcore-token-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, "from-a-file\n").unwrap();
    let c = load(&format!(
        "[windmill]\nbase_url = \"http://w\"\ntoken_file = \"{}\"",
        file.display()
    ))
    .unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(c.windmill_settings().unwrap().token.expose(), "from-a-file");
}
