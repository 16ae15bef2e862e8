//! The recorder: a C plugin (`recorder.c`) that appends one line per call,
//! with the id of the event it was given, to the file named by its
//! configuration key `file`; with `fail = "1"` it records the call and then
//! fails it. Tests count deliveries from those files; the events benchmark
//! reads delivery times from them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The plugin's C source (its name is `RECORDER_NAME`, `recorder` by default).
pub const SOURCE: &str = include_str!("recorder.c");

/// Compiles the recorder, named `name`, into `dir/<name>.so`.
pub fn compile(dir: &Path, name: &str) -> PathBuf {
    crate::compile_c(dir, name, &format!("#define RECORDER_NAME \"{name}\"\n{SOURCE}"))
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    /// When the plugin was called, in µs since the Unix epoch.
    pub received_us: u64,
    /// The event's `data.sent_us`, 0 when it had none.
    pub sent_us: u64,
    /// The recorder's configuration key `node`, `-` without one.
    pub node: String,
}

/// The calls recorded in `file` so far (none when it does not exist yet).
pub fn read(file: &Path) -> Vec<Delivery> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            Some(Delivery {
                event_id: fields.next()?.to_owned(),
                received_us: fields.next()?.parse().ok()?,
                sent_us: fields.next()?.parse().ok()?,
                node: fields.next()?.to_owned(),
            })
        })
        .collect()
}

/// How many times each event id was delivered.
#[derive(Debug, Default)]
pub struct Tally {
    pub counts: HashMap<String, usize>,
    /// Every call, duplicates included.
    pub calls: usize,
}

impl Tally {
    pub fn of(deliveries: &[Delivery]) -> Self {
        let mut tally = Self::default();
        for delivery in deliveries {
            *tally.counts.entry(delivery.event_id.clone()).or_default() += 1;
            tally.calls += 1;
        }
        tally
    }

    /// Calls beyond the first of each event.
    pub fn duplicates(&self) -> usize {
        self.calls - self.counts.len()
    }

    /// The ids of `expected` never delivered.
    pub fn missing<'a>(&self, expected: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
        expected
            .into_iter()
            .filter(|id| !self.counts.contains_key(*id))
            .collect()
    }
}
