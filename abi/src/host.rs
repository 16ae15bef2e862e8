//! Services of the host, for plugin code: logging into the gateway's log and
//! reading the plugin's configuration.
//!
//! The host table arrives with `init` and stays valid until `shutdown`; the SDK
//! keeps it in a static of this library (each loaded copy of a plugin has its
//! own). Outside that window, or in a direct Rust call, logging is a no-op and
//! configuration is empty.

use std::sync::atomic::{AtomicPtr, Ordering};

use crate::ffi::{self, FlexcoreHost};

static HOST: AtomicPtr<FlexcoreHost> = AtomicPtr::new(std::ptr::null_mut());

/// A log level, as `FLEXCORE_LOG_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    const fn to_raw(self) -> i32 {
        match self {
            Self::Error => ffi::FLEXCORE_LOG_ERROR,
            Self::Warn => ffi::FLEXCORE_LOG_WARN,
            Self::Info => ffi::FLEXCORE_LOG_INFO,
            Self::Debug => ffi::FLEXCORE_LOG_DEBUG,
            Self::Trace => ffi::FLEXCORE_LOG_TRACE,
        }
    }
}

/// Writes a line into the host's log, attributed to this plugin.
pub fn log(level: Level, message: &str) {
    let host = HOST.load(Ordering::Acquire);
    if host.is_null() {
        return;
    }
    // SAFETY: a non-null HOST was stored by `init` from the host's table, which
    // the host keeps valid until `shutdown` clears it again.
    let host = unsafe { &*host };
    if let Some(log) = host.log {
        // SAFETY: the message is borrowed for the call, as the header requires.
        unsafe { log(host.host_data, level.to_raw(), message.as_ptr().cast(), message.len()) };
    }
}

/// This plugin's configuration value for `key`, if the operator set one.
pub fn config(key: &str) -> Option<String> {
    let host = HOST.load(Ordering::Acquire);
    if host.is_null() {
        return None;
    }
    // SAFETY: as in `log`.
    let host = unsafe { &*host };
    let config_get = host.config_get?;
    let mut value: *const core::ffi::c_char = std::ptr::null();
    let mut len = 0usize;
    // SAFETY: the key is borrowed for the call; the out-pointers are valid locals.
    let found = unsafe { config_get(host.host_data, key.as_ptr().cast(), key.len(), &mut value, &mut len) };
    if found != 1 || value.is_null() {
        return None;
    }
    // SAFETY: the host owns the value and keeps it valid until shutdown; we copy it now.
    let bytes = unsafe { std::slice::from_raw_parts(value.cast::<u8>(), len) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

pub(crate) fn attach(host: *const FlexcoreHost) {
    HOST.store(host.cast_mut(), Ordering::Release);
}

pub(crate) fn detach() {
    HOST.store(std::ptr::null_mut(), Ordering::Release);
}
