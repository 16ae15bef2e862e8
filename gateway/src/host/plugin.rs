//! One loaded plugin: its descriptor, its instance, and the rules of its life.
//!
//! States: `Active` (serving) → `Restarting` after a panic (the instance is
//! drained, shut down and initialised again) → `Active`; or → `Retired` when a
//! reload replaces it or the gateway stops (drained, then shut down once).
//! Calls enter through [`Plugin::enter`], which counts them in flight; the
//! counter and the state form a handshake so that no call can start after a
//! drain has seen zero.

use std::borrow::Cow;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use flexcore_abi::Status;
use flexcore_abi::ffi::{self, FlexcoreRequest, FlexcoreResponse};

use super::host_table::HostTable;
use super::library::{Descriptor, Opened, Refusal};
use super::output::{self, CallError, Input, Output};
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

/// A call in flight; dropping it ends the call. It borrows the plugin's
/// reference from the registry on the fast path, and owns one when the call
/// moves to another thread.
pub struct CallGuard<'a> {
    plugin: Cow<'a, Arc<Plugin>>,
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

    /// Starts a call, unless the plugin is retiring or restarting.
    pub(super) fn enter(self: &Arc<Self>) -> Result<CallGuard<'_>, Closed> {
        // SeqCst pairs with `drain`: either this increment is seen by the
        // drainer, or the drainer's state change is seen here.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        match self.state.load(Ordering::SeqCst) {
            ACTIVE => Ok(CallGuard {
                plugin: Cow::Borrowed(self),
            }),
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

    fn poison(self: &Arc<Self>) {
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

impl CallGuard<'_> {
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// The same call, holding its own reference to the plugin, so that it
    /// can move to another thread.
    pub fn into_owned(self) -> CallGuard<'static> {
        let this = std::mem::ManuallyDrop::new(self);
        // The in-flight count moves to the new guard with the reference.
        CallGuard {
            plugin: Cow::Owned(Arc::clone(&this.plugin)),
        }
    }

    /// Runs the call on this thread and copies (or, when large, adopts) its output.
    pub(super) fn call(&self, input: &Input<'_>) -> Result<Output, CallError> {
        let result = self.with_response(input, |status, response, instance, may_adopt| {
            if may_adopt && status == ffi::FLEXCORE_STATUS_OK && response.body_len >= output::ZERO_COPY_MIN {
                let response = output::take(response);
                // SAFETY: a successful response the plugin owns until
                // free_response, which the buffer calls when dropped, before it
                // ends the call it counts as in flight.
                let output = unsafe { output::PluginBuffer::adopt(response, instance, InFlight::new(&self.plugin)) };
                return Ok(output);
            }
            // SAFETY: the response is as the plugin left it after invoke.
            unsafe { output::read_copied(status, response) }
        });
        if let Err(e) = &result
            && e.status == Status::Panic
        {
            self.plugin.poison();
        }
        result
    }

    /// Runs the call on this thread and lends its output to `read`, without a
    /// copy; the plugin frees it when `read` returns.
    pub fn call_with<R>(&self, input: &Input<'_>, read: impl FnOnce(&[u8]) -> R) -> Result<R, CallError> {
        self.with_response(input, |status, response, _, _| {
            // SAFETY: the response is as the plugin left it after invoke.
            let body = unsafe { output::read_borrowed(status, response) }?;
            Ok(read(body))
        })
    }

    /// Calls `invoke`, hands the raw response to `handle`, then calls
    /// `free_response` unless `handle` took the response ([`output::take`]).
    /// `handle` may take it only when told so: a plugin that is not
    /// thread-safe must see its `free_response` under its lock, here.
    fn with_response<R>(
        &self,
        input: &Input<'_>,
        handle: impl FnOnce(i32, &mut FlexcoreResponse, *mut c_void, bool) -> R,
    ) -> R {
        let plugin = &*self.plugin;
        let request = FlexcoreRequest {
            struct_size: size_of::<FlexcoreRequest>() as u32,
            reserved: 0,
            body: input.body.as_ptr(),
            body_len: input.body.len(),
            content_type: input.content_type.as_ptr().cast(),
            content_type_len: input.content_type.len(),
            request_id: input.request_id.as_ptr().cast(),
            request_id_len: input.request_id.len(),
            deadline_unix_ms: input.deadline_unix_ms,
            config: input.config.as_ptr().cast(),
            config_len: input.config.len(),
        };
        let mut response = FlexcoreResponse::empty();
        let serial = plugin
            .serial
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner));
        let instance = plugin.instance.load(Ordering::Acquire);
        // SAFETY: the plugin is entered (not retired, not restarting), so its
        // instance is live; the request borrows buffers that outlive the call
        // and the release below; the response is zeroed with struct_size set.
        let status = unsafe { (plugin.descriptor.invoke)(instance, &request, &mut response) };
        let result = handle(status, &mut response, instance, serial.is_none());
        if !output::taken(&response) {
            // SAFETY: each invoke is followed by exactly one free_response
            // (here, or by whoever took the response).
            unsafe { (plugin.descriptor.free_response)(instance, &mut response) };
        }
        drop(serial);
        result
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.plugin.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A call's in-flight count, held by a zero-copy output until it is sent.
pub(super) struct InFlight {
    plugin: Arc<Plugin>,
}

impl InFlight {
    /// Counts one more call in flight; only made while a call is already in
    /// flight, so no drain can finish in between.
    fn new(plugin: &Arc<Plugin>) -> Self {
        plugin.in_flight.fetch_add(1, Ordering::SeqCst);
        Self {
            plugin: Arc::clone(plugin),
        }
    }

    pub(super) fn free_response(&self, instance: *mut c_void, response: &mut FlexcoreResponse) {
        // SAFETY: called once, by the buffer that adopted this response, while
        // the call still counts as in flight (the instance is live).
        unsafe { (self.plugin.descriptor.free_response)(instance, response) };
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.plugin.in_flight.fetch_sub(1, Ordering::SeqCst);
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
