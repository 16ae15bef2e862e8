//! The build's outputs (the Rust plugins and the gateway binary), plugin
//! folders made from them, and C plugins compiled on the spot.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The Rust plugins every plugin folder holds, as cargo names their files.
pub const RUST_PLUGINS: [&str; 3] = ["libecho.so", "libdata_processor.so", "libfaulty.so"];

/// The workspace's root folder (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set (a relative one is
/// taken from the workspace root), else `<workspace root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// A file of `<target>/debug/`, which must exist.
pub fn artifact(file: &str) -> PathBuf {
    let path = target_dir().join("debug").join(file);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace` first (the end-to-end tests \
         load the built plugins and start the built gateway binary)",
        path.display()
    );
    path
}

/// The `flexcore-gateway` binary of the build.
pub fn gateway_binary() -> PathBuf {
    artifact("flexcore-gateway")
}

/// A fresh folder with copies of the built echo, data-processor and faulty
/// plugins and the wordcount C plugin compiled into it. Removed when dropped.
pub fn plugin_dir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("flexcore-e2e-plugins-")
        .tempdir()
        .unwrap();
    for file in RUST_PLUGINS {
        std::fs::copy(artifact(file), dir.path().join(file))
            .unwrap_or_else(|e| panic!("cannot copy {file} into the plugin folder: {e}"));
    }
    build_wordcount(dir.path());
    dir
}

/// Builds `plugins/wordcount-c` with its own Makefile into `out`, leaving
/// `out/libwordcount.so`.
pub fn build_wordcount(out: &Path) {
    let folder = workspace_root().join("plugins/wordcount-c");
    let output = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&folder)
        .arg(format!("OUT={}", out.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `make` to build the C plugin ({e}); the end-to-end tests \
                 need make and a C compiler (e.g. `apt-get install make gcc`)"
            )
        });
    assert!(
        output.status.success(),
        "building the C plugin failed (`make -C {} OUT={}`; it needs a C compiler):\n{}{}",
        folder.display(),
        out.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// Compiles the C plugin `source` against `flexcore.h` into `dir/<name>.so`
/// and returns that path.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let sources = tempfile::tempdir().unwrap();
    let file = sources.path().join(format!("{name}.c"));
    std::fs::write(&file, source).unwrap();
    let out = dir.join(format!("{name}.so"));
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&compiler)
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-fPIC", "-shared"])
        .arg("-fvisibility=hidden")
        .arg("-I")
        .arg(workspace_root().join("abi/include"))
        .arg("-o")
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run the C compiler `{compiler}` ({e}); the end-to-end tests need \
                 one (e.g. `apt-get install gcc`, or set CC)"
            )
        });
    assert!(
        output.status.success(),
        "compiling the C plugin {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Replaces `to` with a copy of `from` in one step (copy beside it, then
/// rename), as an operator's deploy tool would, so that no reader ever sees
/// half a file.
pub fn replace_file(from: &Path, to: &Path) {
    let staging = to.with_extension("staging");
    std::fs::copy(from, &staging).unwrap();
    std::fs::rename(&staging, to).unwrap();
}
