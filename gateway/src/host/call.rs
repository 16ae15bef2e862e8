//! The mechanics of one call into a loaded plugin: entering it (counted in
//! flight), building the C request, calling `invoke`, reading the response and
//! calling `free_response` exactly once, here or, for a large output handed
//! to hyper without a copy, when that output is dropped.

use std::borrow::Cow;
use std::ffi::c_void;
use std::sync::Arc;

use bytes::Bytes;
use flexcore_abi::Status;
use flexcore_abi::ffi::{self, FlexcoreRequest, FlexcoreResponse};

use super::output::{self, CallError, Input, Output};
use super::plugin::{Closed, Plugin};

/// A call in flight; dropping it ends the call. It borrows the plugin's
/// reference from the registry on the fast path, and owns one when the call
/// moves to another thread.
pub struct CallGuard<'a> {
    plugin: Cow<'a, Arc<Plugin>>,
}

impl<'a> CallGuard<'a> {
    /// Starts a call into `plugin`, unless it is retiring or restarting.
    pub(super) fn enter(plugin: &'a Arc<Plugin>) -> Result<Self, Closed> {
        plugin.begin_call()?;
        Ok(Self {
            plugin: Cow::Borrowed(plugin),
        })
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
                let output = unsafe { PluginBuffer::adopt(response, instance, InFlight::new(&self.plugin)) };
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
        let serial = plugin.serialise();
        let instance = plugin.instance();
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
        self.plugin.end_call();
    }
}

/// A call's in-flight count, held by a zero-copy output until it is sent.
struct InFlight {
    plugin: Arc<Plugin>,
}

impl InFlight {
    /// Counts one more call in flight; only made while a call is already in
    /// flight, so no drain can finish in between.
    fn new(plugin: &Arc<Plugin>) -> Self {
        plugin.extend_call();
        Self {
            plugin: Arc::clone(plugin),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.plugin.end_call();
    }
}

/// A plugin's response buffer, owned by a `Bytes` until hyper has sent it.
struct PluginBuffer {
    raw: FlexcoreResponse,
    instance: *mut c_void,
    call: InFlight,
}

// SAFETY: the buffer is only read (never written) until it is released, and
// release happens once, from Drop, on whichever thread drops it; plugins may
// free their responses from any thread.
unsafe impl Send for PluginBuffer {}
// SAFETY: shared access only reads the immutable buffer.
unsafe impl Sync for PluginBuffer {}

impl PluginBuffer {
    /// # Safety
    /// `raw` must be a successful response from `instance` not yet released.
    unsafe fn adopt(raw: FlexcoreResponse, instance: *mut c_void, call: InFlight) -> Output {
        // SAFETY: valid until released, by the caller's promise.
        let content_type = unsafe { output::content_type_of(&raw) };
        Output {
            body: Bytes::from_owner(Self { raw, instance, call }),
            content_type,
        }
    }
}

impl AsRef<[u8]> for PluginBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the plugin keeps the buffer valid until free_response (Drop).
        unsafe { output::bytes(self.raw.body, self.raw.body_len) }
    }
}

impl Drop for PluginBuffer {
    fn drop(&mut self) {
        // SAFETY: called once, by the buffer that adopted this response,
        // while the call still counts as in flight (the instance is live).
        unsafe { (self.call.plugin.descriptor.free_response)(self.instance, &mut self.raw) };
    }
}
