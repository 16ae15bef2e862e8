//! The stand-in's memory: scripts, flows, jobs (whose state follows from the
//! clock), and the record of what was received.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use uuid::Uuid;

/// How the jobs of one path behave.
#[derive(Debug, Clone, Default)]
pub struct PathBehaviour {
    /// How long each job runs (default: the stand-in's).
    pub duration: Option<Duration>,
    /// The first this-many jobs of the path fail.
    pub fail_first: u32,
    /// Every job of the path fails.
    pub always_fail: bool,
}

/// One job submission as received.
#[derive(Debug, Clone)]
pub struct Submission {
    pub job_id: Uuid,
    pub path: String,
    /// `script` or `flow`.
    pub kind: &'static str,
    pub args: Value,
    /// False when refused (a duplicate id, an unknown path).
    pub accepted: bool,
    pub at: SystemTime,
}

/// A job as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub id: Uuid,
    pub path: String,
    pub running: bool,
    pub completed: bool,
    pub success: bool,
    pub canceled: bool,
    pub canceled_reason: Option<String>,
}

pub(super) struct Job {
    pub id: Uuid,
    pub path: String,
    pub kind: &'static str,
    pub args: Value,
    pub created: Instant,
    pub created_at: SystemTime,
    pub duration: Duration,
    pub fails: bool,
    pub canceled: Option<(Instant, String)>,
}

/// A queued job starts this long after its creation.
const QUEUE_DELAY: Duration = Duration::from_millis(5);

pub(super) struct Script {
    pub hash: String,
    pub content: String,
    pub language: String,
    pub summary: String,
}

pub(super) struct State {
    pub default_duration: Duration,
    pub behaviours: HashMap<String, PathBehaviour>,
    pub submitted_per_path: HashMap<String, u32>,
    pub jobs: BTreeMap<Uuid, Job>,
    pub submissions: Vec<Submission>,
    pub cancellations: Vec<(Uuid, String)>,
    pub scripts: BTreeMap<String, Script>,
    pub flows: BTreeMap<String, Value>,
}

/// Where a job is, at `now`.
pub(super) enum Phase {
    Queued,
    Running,
    Done { success: bool },
}

impl Job {
    pub fn phase(&self, now: Instant) -> Phase {
        if let Some((at, _)) = &self.canceled
            && *at <= now
        {
            return Phase::Done { success: false };
        }
        let started = self.created + QUEUE_DELAY;
        if now < started {
            Phase::Queued
        } else if now < started + self.duration {
            Phase::Running
        } else {
            Phase::Done { success: !self.fails }
        }
    }

    pub fn result(&self) -> Value {
        if let Some((_, reason)) = &self.canceled {
            return json!({ "error": { "name": "Canceled", "message": format!("Job canceled: {reason}") } });
        }
        if self.fails {
            json!({ "error": { "name": "Exception", "message": format!("{} failed (stand-in)", self.path) } })
        } else {
            json!({ "path": self.path, "args": self.args })
        }
    }

    pub fn view(&self, now: Instant) -> JobView {
        let phase = self.phase(now);
        JobView {
            id: self.id,
            path: self.path.clone(),
            running: matches!(phase, Phase::Running),
            completed: matches!(phase, Phase::Done { .. }),
            success: matches!(phase, Phase::Done { success: true }),
            canceled: self.canceled.is_some(),
            canceled_reason: self.canceled.as_ref().map(|(_, r)| r.clone()),
        }
    }
}

impl State {
    pub fn new(default_duration: Duration) -> Self {
        Self {
            default_duration,
            behaviours: HashMap::new(),
            submitted_per_path: HashMap::new(),
            jobs: BTreeMap::new(),
            submissions: Vec::new(),
            cancellations: Vec::new(),
            scripts: BTreeMap::new(),
            flows: BTreeMap::new(),
        }
    }

    pub fn add_script(&mut self, path: &str, language: &str, content: &str) -> String {
        let hash = content_hash(path, content);
        self.scripts.insert(
            path.to_owned(),
            Script {
                hash: hash.clone(),
                content: content.to_owned(),
                language: language.to_owned(),
                summary: String::new(),
            },
        );
        hash
    }

    /// Creates a job for `path`, applying its behaviour.
    pub fn create_job(&mut self, id: Uuid, path: &str, kind: &'static str, args: Value) {
        let behaviour = self.behaviours.get(path).cloned().unwrap_or_default();
        let n = self.submitted_per_path.entry(path.to_owned()).or_default();
        *n += 1;
        let fails = behaviour.always_fail || *n <= behaviour.fail_first;
        self.jobs.insert(
            id,
            Job {
                id,
                path: path.to_owned(),
                kind,
                args,
                created: Instant::now(),
                created_at: SystemTime::now(),
                duration: behaviour.duration.unwrap_or(self.default_duration),
                fails,
                canceled: None,
            },
        );
    }

    pub fn views(&self) -> Vec<JobView> {
        let now = Instant::now();
        self.jobs.values().map(|j| j.view(now)).collect()
    }
}

/// A script version's hash, as hex text (Windmill's are opaque strings too).
pub(super) fn content_hash(path: &str, content: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes().chain([0]).chain(content.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}
