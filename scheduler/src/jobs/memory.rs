//! [`JobStore`] in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::spec::JobSpec;
use super::store::{JobRecord, JobStore};
use crate::Error;
use crate::memory::MemoryStore;
use crate::runs::Trigger;

#[async_trait]
impl JobStore for MemoryStore {
    async fn sync_config(&self, specs: &[JobSpec]) -> Result<(), Error> {
        let now = self.memory.clock.now();
        let mut state = self.memory.lock();
        state
            .jobs
            .retain(|name, r| r.source != "config" || specs.iter().any(|s| &s.name == name));
        for spec in specs {
            let json = serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?;
            let record = state.jobs.entry(spec.name.clone()).or_insert_with(|| JobRecord {
                name: spec.name.clone(),
                spec: json.clone(),
                source: "config".into(),
                paused: false,
                created_at: now,
                resumed_at: None,
            });
            record.spec = json;
            record.source = "config".into();
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<JobRecord>, Error> {
        Ok(self.memory.lock().jobs.values().cloned().collect())
    }

    async fn set_paused(&self, name: &str, paused: bool) -> Result<(), Error> {
        let now = self.memory.clock.now();
        let mut state = self.memory.lock();
        let record = state
            .jobs
            .get_mut(name)
            .ok_or_else(|| Error::UnknownJob(name.to_owned()))?;
        if record.paused && !paused {
            record.resumed_at = Some(now);
        }
        record.paused = paused;
        Ok(())
    }

    async fn request_trigger(&self, name: &str) -> Result<DateTime<Utc>, Error> {
        let now = self.memory.clock.now();
        let mut state = self.memory.lock();
        if !state.jobs.contains_key(name) {
            return Err(Error::UnknownJob(name.to_owned()));
        }
        state.next_trigger += 1;
        let id = state.next_trigger;
        state.triggers.push(Trigger {
            id,
            job: name.to_owned(),
            requested_at: now,
        });
        Ok(now)
    }
}
