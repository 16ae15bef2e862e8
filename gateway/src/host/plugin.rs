//! One loaded plugin: its descriptor, its instance, and the rules of its life.
//!
//! States: `Active` (serving) → `Restarting` after a panic (the instance is
//! drained, shut down and initialised again) → `Active`; or → `Retired` when a
//! reload replaces it or the gateway stops (drained, then shut down once).
//! Calls enter through [`Plugin::begin_call`], which counts them in flight;
//! the counter and the state form a handshake so that no call can start after
//! a drain has seen zero. The mechanics of one call live in [`super::call`].

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use flexcore_abi::Status;
use flexcore_abi::ffi;

use super::host_table::HostTable;
use super::library::{Descriptor, Opened, Refusal};
use crate::metrics::PluginMetrics;

/// Slow inline calls in a row that move a plugin to the blocking pool.
const SLOW_STREAK: u32 = 3;
/// Fast blocking-pool calls in a row that move a learned plugin back inline.
const FAST_STREAK: u32 = 1000;

const ACTIVE: u8 = 0;
const RESTARTING: u8 = 1;
const FAILED: u8 = 2;
const RETIRED: u8 = 3;

/// A loaded, initialised plugin.
pub struct Plugin {
    pub(super) descriptor: Descriptor,
    pub(super) file: std::path::PathBuf,
    pub(super) sha256: String,
    pub(super) loaded_at: SystemTime,
    pub(super) metrics: PluginMetrics,
    /// The library the code came from (never closed); `None` when linked in.
    library: Option<std::mem::ManuallyDrop<libloading::os::unix::Library>>,
    host_table: HostTable,
    instance: AtomicPtr<c_void>,
    state: AtomicU8,
    in_flight: AtomicUsize,
    /// Held around invoke + free_response for plugins that are not thread-safe.
    serial: Option<Mutex<()>>,
    /// Whether calls go to the blocking pool (flag, or learned from slow calls).
    offload: AtomicBool,
    /// The descriptor's `MAY_BLOCK` flag: always on the blocking pool.
    may_block: bool,
    /// Inline calls in a row slower than the threshold.
    slow_streak: AtomicU32,
    /// Blocking-pool calls in a row well under the threshold.
    fast_streak: AtomicU32,
    /// Serialises init and shutdown, and records whether an instance is live.
    lifecycle: Mutex<bool>,
}

/// Why a call could not enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Closed {
    /// Replaced by a reload or stopping: look the name up again.
    Retired,
    /// Restarting after a panic, or failed to restart.
    Unavailable,
}

impl Plugin {
    /// Initialises an opened library into a plugin, or refuses it.
    pub(super) fn init(
        opened: Opened,
        config: std::collections::HashMap<String, String>,
        metrics: PluginMetrics,
    ) -> Result<Arc<Self>, Refusal> {
        let Opened {
            descriptor,
            file,
            sha256,
            library,
        } = opened;
        let thread_safe = descriptor.flags & ffi::FLEXCORE_FLAG_THREAD_SAFE != 0;
        let plugin = Self {
            host_table: HostTable::new(&descriptor.name, config),
            offload: AtomicBool::new(descriptor.flags & ffi::FLEXCORE_FLAG_MAY_BLOCK != 0),
            may_block: descriptor.flags & ffi::FLEXCORE_FLAG_MAY_BLOCK != 0,
            slow_streak: AtomicU32::new(0),
            fast_streak: AtomicU32::new(0),
            serial: (!thread_safe).then(|| Mutex::new(())),
            descriptor,
            file,
            sha256,
            loaded_at: SystemTime::now(),
            metrics,
            library,
            instance: AtomicPtr::new(std::ptr::null_mut()),
            state: AtomicU8::new(ACTIVE),
            in_flight: AtomicUsize::new(0),
            lifecycle: Mutex::new(false),
        };
        let mut live = plugin.lifecycle.lock().unwrap_or_else(PoisonError::into_inner);
        plugin.start_instance(&mut live).map_err(|reason| Refusal {
            file: plugin.file.clone(),
            reason,
        })?;
        drop(live);
        Ok(Arc::new(plugin))
    }

    pub fn name(&self) -> &str {
        &self.descriptor.name
    }

    /// Calls into this plugin running now.
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether the plugin is linked into the program rather than loaded from a file.
    pub(super) fn linked(&self) -> bool {
        self.library.is_none()
    }

    pub(super) fn offloaded(&self) -> bool {
        self.offload.load(Ordering::Relaxed)
    }

    /// Learns from an inline call's duration: after `SLOW_STREAK` slow calls
    /// in a row the plugin's calls move to the blocking pool. One slow call is
    /// not enough: on a busy machine a preempted call looks slow too.
    pub(super) fn observe_inline(&self, elapsed: Duration, threshold: Duration) {
        if elapsed <= threshold {
            if self.slow_streak.load(Ordering::Relaxed) != 0 {
                self.slow_streak.store(0, Ordering::Relaxed);
            }
            return;
        }
        if self.slow_streak.fetch_add(1, Ordering::Relaxed) + 1 >= SLOW_STREAK {
            self.fast_streak.store(0, Ordering::Relaxed);
            if !self.offload.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    plugin = self.name(),
                    "{SLOW_STREAK} calls in a row blocked an async worker; calls now run on the blocking pool"
                );
            }
        }
    }

    /// Learns from a call on the blocking pool: a plugin moved there by
    /// observation (not by its `MAY_BLOCK` flag) moves back inline after
    /// `FAST_STREAK` fast calls in a row.
    pub(super) fn observe_offloaded(&self, elapsed: Duration, threshold: Duration) {
        if self.may_block {
            return;
        }
        if elapsed > threshold / 4 {
            self.fast_streak.store(0, Ordering::Relaxed);
        } else if self.fast_streak.fetch_add(1, Ordering::Relaxed) + 1 >= FAST_STREAK {
            self.slow_streak.store(0, Ordering::Relaxed);
            self.fast_streak.store(0, Ordering::Relaxed);
            if self.offload.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    plugin = self.name(),
                    "{FAST_STREAK} fast calls in a row; calls run inline again"
                );
            }
        }
    }

    /// Counts a call in flight, unless the plugin is retiring or restarting.
    /// Every `Ok` must be paired with one [`end_call`](Self::end_call).
    pub(super) fn begin_call(&self) -> Result<(), Closed> {
        // SeqCst pairs with `drain`: either this increment is seen by the
        // drainer, or the drainer's state change is seen here.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        match self.state.load(Ordering::SeqCst) {
            ACTIVE => Ok(()),
            state => {
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                Err(if state == RETIRED {
                    Closed::Retired
                } else {
                    Closed::Unavailable
                })
            }
        }
    }

    /// One more call in flight, made only while a call is already in flight
    /// (so no drain can finish in between): a response that outlives its call.
    pub(super) fn extend_call(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// Ends a call counted by [`begin_call`](Self::begin_call) or
    /// [`extend_call`](Self::extend_call).
    pub(super) fn end_call(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// The live instance; valid while a call is counted in flight.
    pub(super) fn instance(&self) -> *mut c_void {
        self.instance.load(Ordering::Acquire)
    }

    /// The lock a plugin that is not thread-safe is called under; `None` for
    /// thread-safe plugins.
    pub(super) fn serialise(&self) -> Option<MutexGuard<'_, ()>> {
        self.serial
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Retires the plugin: no new calls; once the in-flight ones finish
    /// (waiting at most `grace`), its `shutdown` runs. Returns whether it did.
    pub(super) fn retire(&self, grace: Duration) -> bool {
        self.state.store(RETIRED, Ordering::SeqCst);
        let mut live = self.lifecycle.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.drain(grace) {
            tracing::warn!(
                plugin = self.name(),
                "calls still running after {grace:?}; shutdown skipped"
            );
            return false;
        }
        self.stop_instance(&mut live);
        true
    }

    /// After a panic: drain, shut the instance down and initialise a new one.
    fn restart(&self) {
        let mut live = self.lifecycle.lock().unwrap_or_else(PoisonError::into_inner);
        if self.state.load(Ordering::SeqCst) != RESTARTING {
            return;
        }
        if !self.drain(Duration::from_secs(3600)) {
            return;
        }
        self.stop_instance(&mut live);
        let next = match self.start_instance(&mut live) {
            Ok(()) => {
                tracing::info!(plugin = self.name(), "re-initialised after a panic");
                ACTIVE
            }
            Err(reason) => {
                tracing::error!(plugin = self.name(), %reason, "could not re-initialise after a panic");
                FAILED
            }
        };
        let _ = self
            .state
            .compare_exchange(RESTARTING, next, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Waits until no call is in flight; false if `grace` ran out first.
    fn drain(&self, grace: Duration) -> bool {
        let until = Instant::now() + grace;
        while self.in_flight.load(Ordering::SeqCst) != 0 {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    fn start_instance(&self, live: &mut bool) -> Result<(), String> {
        let mut instance = std::ptr::null_mut();
        let status = match self.descriptor.init {
            // SAFETY: init never overlaps another call (we hold the lifecycle
            // lock and no call is in flight); the host table outlives shutdown.
            Some(init) => unsafe { init(self.host_table.as_ptr(), &mut instance) },
            None => ffi::FLEXCORE_STATUS_OK,
        };
        if status != ffi::FLEXCORE_STATUS_OK {
            return Err(format!("init failed with status {:?}", Status::from_raw(status)));
        }
        self.instance.store(instance, Ordering::Release);
        *live = true;
        Ok(())
    }

    fn stop_instance(&self, live: &mut bool) {
        if !std::mem::replace(live, false) {
            return;
        }
        let instance = self.instance.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if let Some(shutdown) = self.descriptor.shutdown {
            // SAFETY: drained and under the lifecycle lock: nothing else runs in
            // the plugin; this instance gets no further call.
            unsafe { shutdown(instance) };
        }
    }

    /// After a panic: no new calls until a fresh instance is initialised.
    pub(super) fn poison(self: &Arc<Self>) {
        if self
            .state
            .compare_exchange(ACTIVE, RESTARTING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let plugin = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name(format!("restart-{}", self.name()))
                .spawn(move || plugin.restart());
            if let Err(e) = spawned {
                tracing::error!(plugin = self.name(), "cannot start the restart thread: {e}");
            }
        }
    }
}

/// What a plugin is, for listing.
pub struct Summary<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub description: &'a str,
    pub abi: (u16, u16),
    pub file: &'a std::path::Path,
    pub sha256: &'a str,
    pub loaded_at: SystemTime,
    pub thread_safe: bool,
    pub offloaded: bool,
}

impl Plugin {
    pub fn summary(&self) -> Summary<'_> {
        let d = &self.descriptor;
        Summary {
            name: &d.name,
            version: &d.version,
            description: &d.description,
            abi: d.abi,
            file: &self.file,
            sha256: &self.sha256,
            loaded_at: self.loaded_at,
            thread_safe: self.serial.is_none(),
            offloaded: self.offloaded(),
        }
    }

    pub fn metrics(&self) -> &PluginMetrics {
        &self.metrics
    }
}
