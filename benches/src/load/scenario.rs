//! What a run sends: one or more [`Scenario`]s, each a request template with a
//! weight (drawn in turn by the [`Mix`](super::mix::Mix)), and optional setup
//! requests sent once before the run (to create a pipeline, say). They come from flags or from TOML files such as:
//!
//! ```toml
//! description = "80% echo, 20% data-processor"
//!
//! [[setup]]                      # sent once, in order, before the warm-up
//! method = "POST"
//! path = "/pipelines"
//! body = '{"id":"bench"}'
//! headers = { content-type = "application/json" }
//! accept = [200, 201, 409]       # statuses that count as done (default: 2xx)
//! capture = { pid = "/id" }      # JSON pointer into the answer; later
//!                                # paths, headers and bodies may say ${pid}
//!
//! [[scenario]]
//! name = "echo-64"
//! path = "/plugins/echo/execute" # method defaults to POST with a body, else GET
//! body_size = 64                 # or body = "...", body_file = "x.json" (relative
//!                                # to this file), json_size = "1KiB"
//! headers = { content-type = "text/plain" }
//! weight = 80
//! ```
//!
//! Pipelines (`POST /pipelines/{id}/execute`) and events (`POST /events`) are
//! ordinary scenarios: a method, a path, a body and headers. `${run_id}` is
//! always defined: unique per run, for names that must not collide.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use serde::Deserialize;

use crate::fixtures;

/// One request template, and its share of the mix.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub method: Method,
    /// Origin form: path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub weight: u32,
}

/// A request sent once before the run; `accept` lists the statuses that mean
/// it did its job (empty: any 2xx); `capture` names values to take from its
/// JSON answer (variable, JSON pointer) for `${variable}` in later requests.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    pub request: Scenario,
    pub accept: Vec<u16>,
    pub capture: Vec<(String, String)>,
}

impl SetupRequest {
    /// Whether `status` means the request did its job.
    pub fn accepts(&self, status: u16) -> bool {
        if self.accept.is_empty() {
            (200..300).contains(&status)
        } else {
            self.accept.contains(&status)
        }
    }
}

/// Everything a run sends.
#[derive(Debug, Clone, Default)]
pub struct ScenarioSet {
    pub setup: Vec<SetupRequest>,
    pub scenarios: Vec<Scenario>,
}

/// Where a body comes from.
#[derive(Debug, Clone, Default)]
pub enum BodySource {
    #[default]
    Empty,
    Text(String),
    File(PathBuf),
    /// That many bytes of filler ([`fixtures::filler`]).
    Filler(usize),
    /// A JSON document of about that many bytes ([`fixtures::json_document`]).
    Json(usize),
}

impl BodySource {
    pub fn load(&self) -> anyhow::Result<Bytes> {
        Ok(match self {
            Self::Empty => Bytes::new(),
            Self::Text(text) => Bytes::from(text.clone()),
            Self::File(path) => {
                Bytes::from(std::fs::read(path).with_context(|| format!("cannot read body file {}", path.display()))?)
            }
            Self::Filler(size) => Bytes::from(fixtures::filler(*size)),
            Self::Json(size) => Bytes::from(fixtures::json_document(*size)),
        })
    }

    fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

/// Replaces every `${name}` in `text` by its value; unknown names are errors.
fn substitute(text: &str, vars: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').with_context(|| format!("unclosed ${{ in {text:?}"))?;
        let name = &after[..end];
        let value = vars
            .get(name)
            .with_context(|| format!("${{{name}}} is not captured by any setup request"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Scenario {
    /// Builds a scenario; `method` defaults to POST when there is a body, as
    /// curl does, and `headers` are `name: value` pairs.
    pub fn new(
        name: &str,
        method: Option<&str>,
        path: &str,
        headers: &[(String, String)],
        body: &BodySource,
        weight: u32,
    ) -> anyhow::Result<Self> {
        let method = match method {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .with_context(|| format!("scenario {name}: invalid method {m:?}"))?,
            None if body.is_empty() => Method::GET,
            None => Method::POST,
        };
        if !path.starts_with('/') {
            bail!("scenario {name}: path {path:?} must start with '/'");
        }
        path.parse::<http::uri::PathAndQuery>()
            .with_context(|| format!("scenario {name}: invalid path {path:?}"))?;
        let mut map = HeaderMap::new();
        for (key, value) in headers {
            let key = HeaderName::from_bytes(key.trim().as_bytes())
                .with_context(|| format!("scenario {name}: invalid header name {key:?}"))?;
            let value = HeaderValue::from_str(value.trim())
                .with_context(|| format!("scenario {name}: invalid value for header {key}"))?;
            map.append(key, value);
        }
        if weight == 0 {
            bail!("scenario {name}: weight must be at least 1");
        }
        Ok(Self {
            name: name.to_owned(),
            method,
            path: path.to_owned(),
            headers: map,
            body: body.load()?,
            weight,
        })
    }
}

impl Scenario {
    /// This scenario with `${name}` replaced in its path, header values and
    /// (UTF-8) body; unchanged when it mentions no variable.
    pub fn bind(&self, vars: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let context = || format!("scenario {}", self.name);
        let mut bound = self.clone();
        if self.path.contains("${") {
            bound.path = substitute(&self.path, vars).with_context(context)?;
            bound
                .path
                .parse::<http::uri::PathAndQuery>()
                .with_context(|| format!("scenario {}: invalid path {:?}", self.name, bound.path))?;
        }
        for value in bound.headers.values_mut() {
            if let Ok(text) = value.to_str()
                && text.contains("${")
            {
                *value = HeaderValue::from_str(&substitute(text, vars).with_context(context)?).with_context(context)?;
            }
        }
        if let Ok(text) = std::str::from_utf8(&self.body)
            && text.contains("${")
        {
            bound.body = Bytes::from(substitute(text, vars).with_context(context)?);
        }
        Ok(bound)
    }
}

/// Splits `name: value` as given to `-H`.
pub fn parse_header(raw: &str) -> anyhow::Result<(String, String)> {
    let (name, value) = raw
        .split_once(':')
        .with_context(|| format!("header {raw:?} is not 'name: value'"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// Parses `64`, `1KiB`, `1k`, `64 KiB`, `1MiB`, `2M` into bytes (binary units).
pub fn parse_size(raw: &str) -> anyhow::Result<u64> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("size {raw:?} does not start with a number"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1u64,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => bail!("size {raw:?}: unknown unit {other:?} (use B, KiB, MiB or GiB)"),
    };
    Ok((number * factor as f64).round() as u64)
}

/// A size in a scenario file: `64` or `"1KiB"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum FileSize {
    Bytes(u64),
    Text(String),
}

impl FileSize {
    fn bytes(&self) -> anyhow::Result<usize> {
        Ok(match self {
            Self::Bytes(n) => *n as usize,
            Self::Text(text) => parse_size(text)? as usize,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    #[allow(dead_code)] // documentation for readers of the file
    description: Option<String>,
    #[serde(default)]
    setup: Vec<RequestSpec>,
    #[serde(default)]
    scenario: Vec<RequestSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    name: Option<String>,
    method: Option<String>,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    body_file: Option<PathBuf>,
    body_size: Option<FileSize>,
    json_size: Option<FileSize>,
    weight: Option<u32>,
    accept: Option<Vec<u16>>,
    capture: Option<BTreeMap<String, String>>,
}

impl RequestSpec {
    fn body(&self, dir: &Path) -> anyhow::Result<BodySource> {
        let given = [
            self.body.is_some(),
            self.body_file.is_some(),
            self.body_size.is_some(),
            self.json_size.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            bail!("give at most one of body, body_file, body_size, json_size");
        }
        Ok(if let Some(text) = &self.body {
            BodySource::Text(text.clone())
        } else if let Some(file) = &self.body_file {
            BodySource::File(dir.join(file))
        } else if let Some(size) = &self.body_size {
            BodySource::Filler(size.bytes()?)
        } else if let Some(size) = &self.json_size {
            BodySource::Json(size.bytes()?)
        } else {
            BodySource::Empty
        })
    }

    fn scenario(&self, default_name: &str, dir: &Path) -> anyhow::Result<Scenario> {
        let name = self.name.as_deref().unwrap_or(default_name);
        let headers: Vec<(String, String)> = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let body = self.body(dir).with_context(|| format!("scenario {name}"))?;
        Scenario::new(
            name,
            self.method.as_deref(),
            &self.path,
            &headers,
            &body,
            self.weight.unwrap_or(1),
        )
    }
}

impl ScenarioSet {
    /// Parses a scenario file's text; relative `body_file`s resolve from `dir`.
    pub fn parse(text: &str, origin: &str, dir: &Path) -> anyhow::Result<Self> {
        let spec: FileSpec = toml::from_str(text).with_context(|| format!("{origin}: not a scenario file"))?;
        if spec.scenario.is_empty() {
            bail!("{origin}: no [[scenario]] table");
        }
        let stem = Path::new(origin)
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
        let mut set = Self::default();
        for (i, s) in spec.setup.iter().enumerate() {
            if s.weight.is_some() {
                bail!("{origin}: setup requests have no weight");
            }
            set.setup.push(SetupRequest {
                request: s
                    .scenario(&format!("{stem}-setup-{}", i + 1), dir)
                    .with_context(|| origin.to_owned())?,
                accept: s.accept.clone().unwrap_or_default(),
                capture: s
                    .capture
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        let many = spec.scenario.len() > 1;
        for (i, s) in spec.scenario.iter().enumerate() {
            if s.accept.is_some() || s.capture.is_some() {
                bail!("{origin}: `accept` and `capture` are for setup requests only");
            }
            let default_name = if many {
                format!("{stem}-{}", i + 1)
            } else {
                stem.clone()
            };
            set.scenarios
                .push(s.scenario(&default_name, dir).with_context(|| origin.to_owned())?);
        }
        Ok(set)
    }

    /// Reads a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read scenario file {}", path.display()))?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        Self::parse(&text, &path.display().to_string(), dir)
    }

    /// Adds another set's setup and scenarios after this one's.
    pub fn extend(&mut self, other: Self) {
        self.setup.extend(other.setup);
        self.scenarios.extend(other.scenarios);
    }
}

#[cfg(test)]
mod tests;
