//! Layered configuration: defaults, then a TOML file, then `FLEXCORE_*`
//! environment variables, then command-line overrides, into one typed struct.
//!
//! The target type decides what is valid (`#[serde(deny_unknown_fields)]`,
//! typed fields); every error names the key it is about, whichever layer the
//! bad value came from.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("invalid configuration: `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// How an environment variable's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    /// Text, taken as it is (`node-1`, `127.0.0.1:8080`, `30s`).
    Text,
    /// A number or boolean (`8080`, `true`).
    Scalar,
    /// A comma-separated list of strings (`a,b,c`).
    List,
}

/// Collects the layers, then builds the typed configuration.
#[derive(Debug, Default)]
pub struct ConfigLoader {
    table: Table,
}

impl ConfigLoader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges a TOML file, when one is given.
    pub fn file(mut self, path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else { return Ok(self) };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let table: Table = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        merge(&mut self.table, table);
        Ok(self)
    }

    /// Merges environment variables: each `(VAR, dotted.key, kind)` that is set.
    pub fn env(self, vars: &[(&str, &str, EnvKind)]) -> Result<Self, ConfigError> {
        self.env_from(vars, |name| std::env::var(name).ok())
    }

    /// As [`env`](Self::env), reading variables through `lookup` (for tests).
    pub fn env_from(
        mut self,
        vars: &[(&str, &str, EnvKind)],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        for &(name, key, kind) in vars {
            if let Some(raw) = lookup(name) {
                let value = match kind {
                    EnvKind::Text => Value::String(raw),
                    EnvKind::Scalar => scalar(&raw),
                    EnvKind::List => Value::Array(
                        raw.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| Value::String(s.into()))
                            .collect(),
                    ),
                };
                self = self.set(key, value);
            }
        }
        Ok(self)
    }

    /// Sets one dotted key, overriding every earlier layer.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or(key);
        let mut table = &mut self.table;
        for part in parts {
            let entry = table.entry(part).or_insert_with(|| Value::Table(Table::new()));
            if !entry.is_table() {
                *entry = Value::Table(Table::new());
            }
            let Value::Table(inner) = entry else {
                unreachable!("just made a table")
            };
            table = inner;
        }
        table.insert(last.to_owned(), value.into());
        self
    }

    /// Builds `T` from the merged layers (missing keys take `T`'s defaults).
    pub fn build<T: DeserializeOwned>(self) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(Value::Table(self.table)).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            ConfigError::Invalid {
                key: if key == "." { "(top level)".into() } else { key },
                message,
            }
        })
    }
}

/// Reads an environment value as TOML when it is a number or boolean, else as a string.
fn scalar(raw: &str) -> Value {
    match toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
    {
        Some(v @ (Value::Integer(_) | Value::Float(_) | Value::Boolean(_))) => v,
        _ => Value::String(raw.to_owned()),
    }
}

fn merge(into: &mut Table, from: Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Table(a)), Value::Table(b)) => merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
