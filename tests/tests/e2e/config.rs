//! A bad configuration stops the binary at start-up with a message that names
//! the offending key.

use flexcore_tests::gateway_process::run_to_exit;

/// Runs the binary with `toml` as its `--config` file (and a valid plugin
/// folder, so only the file can be wrong); returns its stderr.
async fn fails_with_config(toml: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flexcore.toml");
    std::fs::write(&file, toml).unwrap();
    let finished = run_to_exit(
        &[
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
        env,
    )
    .await;
    assert!(
        !finished.status.success(),
        "the gateway accepted {toml:?}; stderr:\n{}",
        finished.stderr
    );
    finished.stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_refused_by_name() {
    let stderr = fails_with_config("max_body_bytes = 1024\nbogus_setting = 1\n", &[]).await;
    assert!(stderr.contains("bogus_setting"), "{stderr}");

    let stderr = fails_with_config("[auth]\nadmin_tokenz = [\"abcdefgh123\"]\n", &[]).await;
    assert!(stderr.contains("admin_tokenz"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_is_refused_by_key() {
    let stderr = fails_with_config("max_body_bytes = \"lots\"\n", &[]).await;
    assert!(stderr.contains("max_body_bytes"), "{stderr}");

    let stderr = fails_with_config("invoke_timeout = \"soon\"\n", &[]).await;
    assert!(stderr.contains("invoke_timeout"), "{stderr}");

    let stderr = fails_with_config("", &[("FLEXCORE_MAX_BODY_BYTES", "lots")]).await;
    assert!(stderr.contains("max_body_bytes"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_token_is_refused_without_printing_it() {
    let stderr = fails_with_config("", &[("FLEXCORE_ADMIN_TOKENS", "shorty")]).await;
    assert!(stderr.contains("auth.admin_tokens"), "{stderr}");
    assert!(!stderr.contains("shorty"), "{stderr}");
}
