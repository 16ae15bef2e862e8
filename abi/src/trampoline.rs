//! The `extern "C"` functions behind [`export_plugin!`](crate::export_plugin).
//!
//! The macro only names a type implementing [`Plugin`]; every raw-pointer
//! access and every `catch_unwind` lives here, so a plugin crate contains no
//! `unsafe` code of its own. Not a public API: used through the macro.

use core::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::ffi::{self, FlexcoreHost, FlexcorePlugin, FlexcoreRequest, FlexcoreResponse};
use crate::{PluginError, Request, Response, Status, host, response};

/// What the macro implements for the user's functions.
pub trait Plugin: 'static {
    fn invoke(request: &Request) -> Result<Response<'_>, PluginError>;

    fn init() -> Result<(), PluginError> {
        Ok(())
    }

    fn shutdown() {}
}

/// A descriptor in a `static`. Its pointers all point at other statics.
pub struct StaticDescriptor(FlexcorePlugin);

// SAFETY: the descriptor is immutable and its pointers refer to static,
// immutable strings and to functions, which are safe to share across threads.
unsafe impl Sync for StaticDescriptor {}

impl StaticDescriptor {
    /// `name`, `version` and `description` must end in a NUL (the macro adds it).
    pub const fn new<P: Plugin>(
        name: &'static str,
        version: &'static str,
        description: &'static str,
        may_block: bool,
    ) -> Self {
        let flags = ffi::FLEXCORE_FLAG_THREAD_SAFE | if may_block { ffi::FLEXCORE_FLAG_MAY_BLOCK } else { 0 };
        Self(FlexcorePlugin {
            struct_size: size_of::<FlexcorePlugin>() as u32,
            abi_major: crate::ABI_MAJOR,
            abi_minor: crate::ABI_MINOR,
            name: name.as_ptr().cast::<c_char>(),
            version: version.as_ptr().cast::<c_char>(),
            description: description.as_ptr().cast::<c_char>(),
            flags,
            init: Some(init::<P>),
            invoke: Some(invoke::<P>),
            free_response: Some(free_response),
            shutdown: Some(shutdown::<P>),
        })
    }

    /// The entry point's answer: this descriptor, or NULL for a host whose
    /// major version differs from ours.
    pub fn entry(&'static self, host_major: u16, _host_minor: u16) -> *const FlexcorePlugin {
        if host_major == crate::ABI_MAJOR {
            &self.0
        } else {
            std::ptr::null()
        }
    }
}

/// Whether `name` is a valid plugin id: 1 to 64 characters of `[a-z0-9._-]`,
/// starting with a letter or digit (so never `.`, `..` or a path).
pub const fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 || !(bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit()) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

unsafe extern "C" fn init<P: Plugin>(host_table: *const FlexcoreHost, instance: *mut *mut c_void) -> ffi::RawStatus {
    if !instance.is_null() {
        // SAFETY: the host passes a valid out-pointer.
        unsafe { *instance = std::ptr::null_mut() };
    }
    host::attach(host_table);
    // This library has its own copy of std, so this hook sees only this
    // plugin's panics: they go to the host's log instead of raw stderr.
    std::panic::set_hook(Box::new(|info| {
        host::log(host::Level::Error, &format!("panic: {info}"))
    }));
    match catch_unwind(P::init) {
        Ok(Ok(())) => ffi::FLEXCORE_STATUS_OK,
        Ok(Err(e)) => {
            host::log(host::Level::Error, e.message());
            e.status().to_raw().max(ffi::FLEXCORE_STATUS_INVALID_INPUT)
        }
        Err(panic) => {
            host::log(
                host::Level::Error,
                &format!("init panicked: {}", panic_message(&*panic)),
            );
            ffi::FLEXCORE_STATUS_PANIC
        }
    }
}

unsafe extern "C" fn invoke<P: Plugin>(
    _instance: *mut c_void,
    request: *const FlexcoreRequest,
    response: *mut FlexcoreResponse,
) -> ffi::RawStatus {
    if request.is_null() || response.is_null() {
        return ffi::FLEXCORE_STATUS_INTERNAL;
    }
    // SAFETY: the host passes a request borrowed for this call and a response
    // it owns and zeroed (flexcore.h); neither is aliased during the call.
    let (request, response) = unsafe { (Request::from_raw(request), &mut *response) };
    match catch_unwind(AssertUnwindSafe(|| P::invoke(request))) {
        Ok(Ok(out)) => {
            out.write_into(response);
            ffi::FLEXCORE_STATUS_OK
        }
        Ok(Err(error)) => error.write_into(response),
        Err(panic) => PluginError::new(Status::Panic, panic_message(&*panic).to_owned()).write_into(response),
    }
}

unsafe extern "C" fn free_response(_instance: *mut c_void, response: *mut FlexcoreResponse) {
    if response.is_null() {
        return;
    }
    // SAFETY: the host hands back the struct `invoke` filled, exactly once.
    unsafe { response::release(&mut *response) };
}

unsafe extern "C" fn shutdown<P: Plugin>(_instance: *mut c_void) {
    let _ = catch_unwind(P::shutdown);
    host::detach();
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

#[cfg(test)]
mod tests;
