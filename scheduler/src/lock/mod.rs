//! Locks: which replica fires which job.
//!
//! Each job has a PostgreSQL session advisory lock (key: FNV-1a 64 of the
//! job's name, see [`crate::jobs::lock_name`]), held on the replica's
//! dedicated lock connection. Jobs are spread over the live replicas by
//! rendezvous hashing: the *preferred* replica of a job is the live one with
//! the highest hash of `(job, replica)`, so a replica joining or leaving
//! moves only its share of the jobs.
//!
//! - the preferred replica takes a free lock at once;
//! - the others take it only after seeing it free for
//!   [`TAKEOVER_ROUNDS`] rounds in a row (the preferred one is dead or cut
//!   off: its lock connection closed, so the lock is free);
//! - a holder that is not preferred hands the job over (unlocks) once the
//!   preferred replica is healthy (recent heartbeat) and has been connected
//!   for the handover grace, so a flapping replica does not pull jobs back
//!   and forth.
//!
//! Locks only keep replicas from competing; the fence in `runs` is what
//! makes a tick run once. [`plan`] is the pure decision; [`manager`] runs it
//! every round against a [`LockStore`].

pub mod manager;
mod memory;
mod postgres;
pub mod store;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

pub use manager::LockManager;
pub use store::{LockStore, Replica};

/// The jobs this replica holds, under the lock connection of `epoch`
/// (`None`: the connection is down and nothing is held).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership {
    pub epoch: Option<u64>,
    pub jobs: BTreeSet<String>,
}

/// Rounds a lock must be seen free before a non-preferred replica takes it.
pub const TAKEOVER_ROUNDS: u32 = 2;

/// What a round decided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Jobs whose lock to try.
    pub acquire: Vec<String>,
    /// Jobs to hand over (unlock).
    pub release: Vec<String>,
}

/// What a replica sees in one round.
#[derive(Debug)]
pub struct View<'a> {
    pub me: &'a str,
    /// Live replicas (this one included when its heartbeat went through).
    pub live: &'a [Replica],
    /// Held locks: key to holding replica (`None`: held by someone unknown).
    pub holders: &'a HashMap<i64, Option<String>>,
    /// A preferred replica gets a job handed over only after being connected
    /// this long...
    pub handover_grace: Duration,
    /// ... and with a heartbeat no older than this.
    pub healthy_age: Duration,
}

/// The replica preferred for `job` among `live`: highest rendezvous score.
pub fn preferred<'a>(job: &str, live: &'a [Replica]) -> Option<&'a Replica> {
    live.iter().max_by_key(|r| (score(job, &r.id), r.id.clone()))
}

/// Rendezvous score of `(job, replica)`: FNV-1a 64 with a final mix (FNV
/// alone spreads similar names poorly).
fn score(job: &str, replica: &str) -> u64 {
    let mut x = flexcore_infra::postgres::lock_key(&format!("{job}\n{replica}")) as u64;
    // splitmix64's finaliser.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What [`plan`] remembers between rounds.
#[derive(Debug, Default)]
pub struct Memory {
    /// Per job, the rounds its lock was seen free while another replica was
    /// preferred.
    free_rounds: HashMap<String, u32>,
    /// Per job taken over from a preferred replica that did not take it,
    /// the rounds left before it may be handed back: that replica's
    /// heartbeat may still look recent although it is gone.
    keep_rounds: HashMap<String, u32>,
}

impl Memory {
    /// Notes that this replica took `job` although another was preferred.
    pub fn took_over(&mut self, job: &str, rounds: u32) {
        self.keep_rounds.insert(job.to_owned(), rounds);
    }
}

/// Decides which locks to try and which to hand over; `jobs` are
/// `(name, lock key)`.
pub fn plan(view: &View<'_>, jobs: &[(String, i64)], owned: &HashSet<String>, memory: &mut Memory) -> Plan {
    let mut plan = Plan::default();
    let known = |job: &String| jobs.iter().any(|(name, _)| name == job);
    memory.free_rounds.retain(|job, _| known(job));
    memory.keep_rounds.retain(|job, _| known(job) && owned.contains(job));
    for (job, key) in jobs {
        let preferred = preferred(job, view.live);
        let preferred_is_me = preferred.is_none_or(|p| p.id == view.me);
        if owned.contains(job) {
            memory.free_rounds.remove(job);
            if let Some(left) = memory.keep_rounds.get_mut(job) {
                *left = left.saturating_sub(1);
                if *left > 0 {
                    continue;
                }
                memory.keep_rounds.remove(job);
            }
            if let Some(p) = preferred.filter(|_| !preferred_is_me)
                && p.heartbeat_age <= view.healthy_age
                && p.connected_for >= view.handover_grace
            {
                plan.release.push(job.clone());
            }
            continue;
        }
        if view.holders.contains_key(key) {
            memory.free_rounds.remove(job);
            continue;
        }
        if preferred_is_me {
            plan.acquire.push(job.clone());
            continue;
        }
        let rounds = memory.free_rounds.entry(job.clone()).or_default();
        *rounds += 1;
        if *rounds >= TAKEOVER_ROUNDS {
            plan.acquire.push(job.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests;
