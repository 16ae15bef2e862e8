//! Bad plugin files at start-up: each is refused with a reason that names the
//! cause, and the gateway starts and serves the good ones.

use flexcore_tests::c_plugins::{CPlugin, NO_ENTRY_POINT, STATUS_INTERNAL};
use flexcore_tests::{TestGateway, compile_c, plugin_dir};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugin_files_are_refused_with_their_reason() {
    let dir = plugin_dir();
    let path = dir.path();
    std::fs::write(path.join("junk.so"), "this is not a shared object\n").unwrap();
    compile_c(path, "libnoentry", NO_ENTRY_POINT);
    let abi2 = CPlugin {
        abi_major: 2,
        ..CPlugin::echo("abi-two", "1.0.0")
    };
    compile_c(path, "libabi2", &abi2.source());
    let refuses = CPlugin {
        refuse_host: true,
        ..CPlugin::echo("refuses-host", "1.0.0")
    };
    compile_c(path, "librefuses", &refuses.source());
    let init_fails = CPlugin {
        init_status: Some(STATUS_INTERNAL),
        ..CPlugin::echo("init-fails", "1.0.0")
    };
    compile_c(path, "libinitfails", &init_fails.source());
    compile_c(path, "libbadname", &CPlugin::echo("Bad Name", "1.0.0").source());
    std::fs::copy(path.join("libecho.so"), path.join("libecho-copy.so")).unwrap();

    let gw = TestGateway::start_in(dir, |_| {}).await;
    let list = gw.get_json("/plugins").await;
    let refused = list["refused"].as_array().unwrap();
    let reason = |file: &str| -> String {
        let file = gw.plugin_dir().join(file);
        let refusal: &Value = refused
            .iter()
            .find(|r| r["file"] == file.to_str().unwrap())
            .unwrap_or_else(|| panic!("{} is not refused: {list}", file.display()));
        refusal["reason"].as_str().unwrap().to_owned()
    };
    for (file, cause) in [
        ("junk.so", "not a loadable shared object"),
        ("libnoentry.so", "flexcore_plugin_entry_v1"),
        ("libabi2.so", "ABI 2."),
        ("librefuses.so", "refused host ABI"),
        ("libinitfails.so", "init failed"),
        ("libbadname.so", "invalid plugin name"),
    ] {
        let reason = reason(file);
        assert!(reason.contains(cause), "{file}: {reason}");
    }
    // Files load in name order, so the copy, sorted first, provides `echo`
    // and the original is the duplicate.
    let duplicate = reason("libecho.so");
    assert!(
        duplicate.contains("duplicate") && duplicate.contains("echo"),
        "{duplicate}"
    );
    assert_eq!(refused.len(), 7, "{list}");

    let names: Vec<&str> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-processor", "echo", "faulty", "wordcount"]);
    let info = gw.get_json("/info").await;
    assert_eq!(info["plugins_refused"], 7);

    assert_eq!(gw.execute("echo", "ok").await.text().await.unwrap(), "ok");
    let processed = gw.execute("data-processor", "[1]").await;
    assert_eq!(processed.status(), 200);
    let counted = gw.execute("wordcount", "two words").await;
    assert_eq!(counted.text().await.unwrap(), r#"{"bytes":9,"words":2,"lines":1}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_plugin_folder_still_serves() {
    let gw = TestGateway::start_in(tempfile::tempdir().unwrap(), |_| {}).await;
    assert_eq!(gw.get_json("/health").await["plugins_loaded"], 0);
    let response = gw.execute("echo", "x").await;
    flexcore_tests::assert_error(response, 404, "plugin_not_found").await;
}
