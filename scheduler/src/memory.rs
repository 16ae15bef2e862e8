//! The in-memory backend: jobs, runs, membership and locks held in one
//! process, for a scheduler without a database (the embedded default: one
//! replica, history lost on exit) and for loop tests, where several
//! [`MemoryStore`] handles on one [`Memory`] act as replicas of a cluster.
//!
//! Each feature implements its store trait for [`MemoryStore`] next to its
//! PostgreSQL implementation (`jobs/memory.rs`, `runs/memory.rs`,
//! `lock/memory.rs`), with the same semantics, fence included.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::jobs::JobRecord;
use crate::runs::{Run, Trigger};

/// The shared state of an in-memory cluster.
pub struct Memory {
    pub(crate) clock: Clock,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    pub jobs: BTreeMap<String, JobRecord>,
    pub triggers: Vec<Trigger>,
    pub next_trigger: i64,
    pub runs: BTreeMap<i64, Run>,
    pub next_run: i64,
    /// Indexes of `runs`, so that a claim costs no scan of the history:
    /// every `(job, scheduled_at)` claimed (the UNIQUE constraint), the
    /// unfinished runs of each job, and each job's latest scheduled tick.
    pub ticks: HashSet<(String, DateTime<Utc>)>,
    pub unfinished: HashMap<String, BTreeSet<i64>>,
    pub last_tick: HashMap<String, DateTime<Utc>>,
    /// Lock key to `(replica, epoch)` of the session holding it.
    pub locks: HashMap<i64, (String, u64)>,
    pub replicas: BTreeMap<String, ReplicaRow>,
    /// Current session epoch per replica; absent while "disconnected".
    pub sessions: HashMap<String, u64>,
}

pub(crate) struct ReplicaRow {
    pub connected_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

impl Memory {
    pub fn new(clock: Clock) -> Arc<Self> {
        Arc::new(Self {
            clock,
            state: Mutex::new(State::default()),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; go on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A replica's handle, connected.
    pub fn replica(self: &Arc<Self>, id: &str) -> MemoryStore {
        let store = MemoryStore {
            memory: Arc::clone(self),
            replica_id: id.to_owned(),
            sessions: watch::channel(None).0,
        };
        store.connect();
        store
    }
}

/// One replica's view of a [`Memory`] cluster.
pub struct MemoryStore {
    pub(crate) memory: Arc<Memory>,
    pub(crate) replica_id: String,
    pub(crate) sessions: watch::Sender<Option<u64>>,
}

impl MemoryStore {
    /// Opens a new "lock connection" (a new epoch).
    pub fn connect(&self) {
        let epoch = {
            let mut state = self.memory.lock();
            let epoch = state.sessions.get(&self.replica_id).copied().unwrap_or(0) + 1;
            state.sessions.insert(self.replica_id.clone(), epoch);
            let now = self.memory.clock.now();
            state.replicas.insert(
                self.replica_id.clone(),
                ReplicaRow {
                    connected_at: now,
                    heartbeat_at: now,
                },
            );
            epoch
        };
        self.sessions.send_replace(Some(epoch));
    }

    /// Cuts the "lock connection", as `pg_terminate_backend` would: its locks
    /// are gone at once.
    pub fn cut(&self) {
        {
            let mut state = self.memory.lock();
            state.sessions.remove(&self.replica_id);
            let me = self.replica_id.clone();
            state.locks.retain(|_, (holder, _)| *holder != me);
        }
        self.sessions.send_replace(None);
    }

    /// The epoch of this replica's session, if connected.
    pub(crate) fn epoch(&self, state: &State) -> Option<u64> {
        state.sessions.get(&self.replica_id).copied()
    }

    /// Whether this replica's current session holds `key` (the fence).
    pub(crate) fn holds(&self, state: &State, key: i64) -> bool {
        match (self.epoch(state), state.locks.get(&key)) {
            (Some(epoch), Some((holder, held_epoch))) => *holder == self.replica_id && *held_epoch == epoch,
            _ => false,
        }
    }
}
