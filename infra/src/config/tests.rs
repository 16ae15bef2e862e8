use std::collections::HashMap;

use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
struct Sample {
    listen: String,
    port: u16,
    tokens: Vec<String>,
    nested: Nested,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
struct Nested {
    depth: u32,
}

impl Default for Sample {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1".into(),
            port: 80,
            tokens: vec![],
            nested: Nested::default(),
        }
    }
}

const VARS: &[(&str, &str, EnvKind)] = &[
    ("X_PORT", "port", EnvKind::Scalar),
    ("X_TOKENS", "tokens", EnvKind::List),
    ("X_DEPTH", "nested.depth", EnvKind::Scalar),
    ("X_LISTEN", "listen", EnvKind::Text),
    ("X_PORT_TEXT", "port", EnvKind::Text),
];

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

fn write(toml: &str) -> tempfile_path::TempPath {
    tempfile_path::TempPath::new(toml)
}

mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);
    impl TempPath {
        pub fn new(content: &str) -> Self {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("flexcore-cfg-{}-{n}.toml", std::process::id()));
            std::fs::write(&p, content).unwrap();
            Self(p)
        }
    }
    impl Drop for TempPath {
        fn drop(&mut self) {
            std::fs::remove_file(&self.0).ok();
        }
    }
}

#[test]
fn layers_apply_in_order() {
    let file = write("port = 1\nlisten = \"0.0.0.0\"\n[nested]\ndepth = 3\n");
    let cfg: Sample = ConfigLoader::new()
        .file(Some(&file.0))
        .unwrap()
        .env_from(VARS, env(&[("X_PORT", "2"), ("X_TOKENS", "a, b,")]))
        .unwrap()
        .set("listen", "10.0.0.1")
        .build()
        .unwrap();
    assert_eq!(
        cfg,
        Sample {
            listen: "10.0.0.1".into(),
            port: 2,
            tokens: vec!["a".into(), "b".into()],
            nested: Nested { depth: 3 }
        }
    );
}

#[test]
fn defaults_fill_what_is_missing() {
    let cfg: Sample = ConfigLoader::new().build().unwrap();
    assert_eq!(cfg, Sample::default());
}

#[test]
fn unknown_keys_are_named() {
    let file = write("prot = 1\n");
    let err = ConfigLoader::new()
        .file(Some(&file.0))
        .unwrap()
        .build::<Sample>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("prot"), "{err}");
    let file = write("[nested]\ndepht = 1\n");
    let err = ConfigLoader::new()
        .file(Some(&file.0))
        .unwrap()
        .build::<Sample>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("depht"), "{err}");
}

#[test]
fn bad_values_name_their_key_from_any_layer() {
    let err = ConfigLoader::new()
        .env_from(VARS, env(&[("X_DEPTH", "deep")]))
        .unwrap()
        .build::<Sample>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("nested.depth"), "{err}");
    let err = ConfigLoader::new()
        .set("port", 70000)
        .build::<Sample>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`port`"), "{err}");
}

#[test]
fn text_variables_stay_text_and_scalars_are_typed() {
    let cfg: Sample = ConfigLoader::new()
        .env_from(VARS, env(&[("X_LISTEN", "8080")]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(cfg.listen, "8080");
    let err = ConfigLoader::new()
        .env_from(VARS, env(&[("X_PORT_TEXT", "8080")]))
        .unwrap()
        .build::<Sample>();
    assert!(err.unwrap_err().to_string().contains("port"));
}

#[test]
fn unreadable_and_malformed_files_are_reported() {
    let missing = std::path::Path::new("/nonexistent/flexcore.toml");
    assert!(matches!(
        ConfigLoader::new().file(Some(missing)),
        Err(ConfigError::Read { .. })
    ));
    let file = write("port = = 1");
    assert!(matches!(
        ConfigLoader::new().file(Some(&file.0)),
        Err(ConfigError::Parse { .. })
    ));
}
