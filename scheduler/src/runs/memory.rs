//! [`RunStore`] in memory, with the same fence as PostgreSQL: a claim needs
//! this replica's current session to hold the job's lock, and `(job,
//! scheduled_at)` to be new.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::RunStore;
use super::{Claim, Claimed, Outcome, Run, RunStatus, Trigger};
use crate::Error;
use crate::jobs::Overlap;
use crate::memory::{MemoryStore, State};

impl MemoryStore {
    fn insert_claim(&self, state: &mut State, claim: &Claim) -> Claimed {
        if !self.holds(state, claim.lock_key) {
            return Claimed::Lost;
        }
        let tick = (claim.job.clone(), claim.scheduled_at);
        if state.ticks.contains(&tick) {
            return Claimed::Lost;
        }
        let unfinished: Vec<RunStatus> = state
            .unfinished
            .get(&claim.job)
            .into_iter()
            .flatten()
            .filter_map(|id| state.runs.get(id).map(|r| r.status))
            .collect();
        let skipped = match claim.overlap {
            Overlap::Skip => !unfinished.is_empty(),
            Overlap::BufferOne => unfinished.contains(&RunStatus::Claimed),
            Overlap::Allow => false,
        };
        state.next_run += 1;
        let run = Run {
            id: state.next_run,
            job: claim.job.clone(),
            scheduled_at: claim.scheduled_at,
            claimed_at: claim.claimed_at,
            started_at: None,
            finished_at: skipped.then_some(claim.claimed_at),
            replica: self.replica_id.clone(),
            attempt: 0,
            catch_up: claim.catch_up,
            manual: claim.manual,
            target: claim.target.clone(),
            windmill_job_id: None,
            status: if skipped {
                RunStatus::Skipped
            } else {
                RunStatus::Claimed
            },
            result: None,
            error: None,
        };
        state.ticks.insert(tick);
        if !claim.manual {
            let last = state.last_tick.entry(claim.job.clone()).or_insert(claim.scheduled_at);
            *last = (*last).max(claim.scheduled_at);
        }
        if !skipped {
            state.unfinished.entry(claim.job.clone()).or_default().insert(run.id);
        }
        state.runs.insert(run.id, run.clone());
        if skipped {
            Claimed::Skipped(run)
        } else {
            Claimed::Run(run)
        }
    }

    fn ours<'a>(&self, state: &'a mut State, id: i64) -> Option<&'a mut Run> {
        state
            .runs
            .get_mut(&id)
            .filter(|r| r.replica == self.replica_id && r.status.unfinished())
    }
}

#[async_trait]
impl RunStore for MemoryStore {
    async fn claim(&self, claim: &Claim) -> Result<Claimed, Error> {
        let mut state = self.memory.lock();
        if self.epoch(&state).is_none() {
            return Err(Error::LockConnectionLost);
        }
        Ok(self.insert_claim(&mut state, claim))
    }

    async fn pending_triggers(&self, jobs: &[String]) -> Result<Vec<Trigger>, Error> {
        let state = self.memory.lock();
        Ok(state
            .triggers
            .iter()
            .filter(|t| jobs.contains(&t.job))
            .cloned()
            .collect())
    }

    async fn claim_trigger(&self, trigger: &Trigger, claim: &Claim) -> Result<Claimed, Error> {
        let mut state = self.memory.lock();
        if self.epoch(&state).is_none() {
            return Err(Error::LockConnectionLost);
        }
        if !self.holds(&state, claim.lock_key) || !state.triggers.iter().any(|t| t.id == trigger.id) {
            return Ok(Claimed::Lost);
        }
        state.triggers.retain(|t| t.id != trigger.id);
        Ok(self.insert_claim(&mut state, claim))
    }

    async fn last_tick(&self, job: &str) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(self.memory.lock().last_tick.get(job).copied())
    }

    async fn start_attempt(
        &self,
        id: i64,
        attempt: u32,
        windmill_job_id: Option<Uuid>,
        started_at: DateTime<Utc>,
        exclusive: bool,
    ) -> Result<bool, Error> {
        let mut state = self.memory.lock();
        let Some(job) = self.ours(&mut state, id).map(|r| r.job.clone()) else {
            return Ok(false);
        };
        if exclusive
            && state
                .unfinished
                .get(&job)
                .into_iter()
                .flatten()
                .any(|other| *other != id && state.runs.get(other).is_some_and(|r| r.status == RunStatus::Running))
        {
            return Ok(false);
        }
        let Some(run) = self.ours(&mut state, id) else {
            return Ok(false);
        };
        run.status = RunStatus::Running;
        run.attempt = attempt;
        run.windmill_job_id = windmill_job_id;
        run.started_at.get_or_insert(started_at);
        Ok(true)
    }

    async fn still_ours(&self, id: i64) -> Result<bool, Error> {
        let mut state = self.memory.lock();
        Ok(self.ours(&mut state, id).is_some())
    }

    async fn finish(&self, id: i64, outcome: &Outcome, finished_at: DateTime<Utc>) -> Result<bool, Error> {
        let mut state = self.memory.lock();
        let Some(run) = self.ours(&mut state, id) else {
            return Ok(false);
        };
        run.status = outcome.status;
        run.result = outcome.result.clone();
        run.error = outcome.error.clone();
        run.finished_at = Some(finished_at);
        let job = run.job.clone();
        if let Some(ids) = state.unfinished.get_mut(&job) {
            ids.remove(&id);
        }
        Ok(true)
    }

    async fn orphans(&self, jobs: &[String], live: &[String]) -> Result<Vec<Run>, Error> {
        let state = self.memory.lock();
        Ok(jobs
            .iter()
            .filter_map(|job| state.unfinished.get(job))
            .flatten()
            .filter_map(|id| state.runs.get(id))
            .filter(|r| !live.contains(&r.replica))
            .cloned()
            .collect())
    }

    async fn adopt(&self, run: &Run, lock_key: i64) -> Result<bool, Error> {
        let mut state = self.memory.lock();
        if !self.holds(&state, lock_key) {
            return Ok(false);
        }
        let me = self.replica_id.clone();
        match state.runs.get_mut(&run.id) {
            Some(r) if r.replica == run.replica && r.status.unfinished() => {
                r.replica = me;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn recent(&self, job: &str, limit: u32) -> Result<Vec<Run>, Error> {
        let state = self.memory.lock();
        let mut runs: Vec<Run> = state.runs.values().filter(|r| r.job == job).cloned().collect();
        runs.sort_by_key(|r| std::cmp::Reverse(r.scheduled_at));
        runs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(runs)
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, Error> {
        let mut state = self.memory.lock();
        let state = &mut *state;
        let last_tick = &state.last_tick;
        let mut pruned = Vec::new();
        state.runs.retain(|_, r| {
            let keep = r.scheduled_at >= before
                || r.status.unfinished()
                || last_tick.get(&r.job).is_none_or(|l| r.scheduled_at >= *l);
            if !keep {
                pruned.push((r.job.clone(), r.scheduled_at));
            }
            keep
        });
        for tick in &pruned {
            state.ticks.remove(tick);
        }
        Ok(u64::try_from(pruned.len()).unwrap_or(u64::MAX))
    }
}
