//! The host table (`flexcore_host`) each plugin receives in `init`: logging
//! into tracing under the plugin's name, and lookup of its configuration.
//!
//! One [`HostTable`] per loaded plugin, owned by its [`Plugin`](super::Plugin),
//! so the pointers handed out stay valid until after `shutdown`.

use std::collections::HashMap;
use std::ffi::{c_char, c_void};

use flexcore_abi::ffi::{self, FlexcoreHost};

/// What `host_data` points at.
struct HostContext {
    plugin: String,
    config: HashMap<String, String>,
}

/// A host table and the context behind it, pinned on the heap.
pub(super) struct HostTable {
    table: Box<FlexcoreHost>,
    // Read through `table.host_data`; kept here so it lives as long as the table.
    _context: Box<HostContext>,
}

// SAFETY: the table and context are immutable after construction and the
// callbacks only read them, so sharing across threads is sound.
unsafe impl Send for HostTable {}
// SAFETY: as above.
unsafe impl Sync for HostTable {}

impl HostTable {
    pub(super) fn new(plugin: &str, config: HashMap<String, String>) -> Self {
        let context = Box::new(HostContext {
            plugin: plugin.to_owned(),
            config,
        });
        let table = Box::new(FlexcoreHost {
            struct_size: size_of::<FlexcoreHost>() as u32,
            abi_major: flexcore_abi::ABI_MAJOR,
            abi_minor: flexcore_abi::ABI_MINOR,
            host_data: std::ptr::from_ref::<HostContext>(&context).cast_mut().cast::<c_void>(),
            log: Some(host_log),
            config_get: Some(host_config_get),
        });
        Self {
            table,
            _context: context,
        }
    }

    pub(super) fn as_ptr(&self) -> *const FlexcoreHost {
        &*self.table
    }
}

/// # Safety
/// `host_data` must be a table's context; `message` valid for `len` bytes.
unsafe extern "C" fn host_log(host_data: *mut c_void, level: i32, message: *const c_char, len: usize) {
    if host_data.is_null() || (message.is_null() && len != 0) {
        return;
    }
    // SAFETY: host_data is the HostContext this table was built with, alive
    // until the plugin's shutdown; the message is borrowed for the call.
    let (context, bytes) = unsafe {
        let bytes = if len == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(message.cast::<u8>(), len)
        };
        (&*host_data.cast::<HostContext>(), bytes)
    };
    let message = String::from_utf8_lossy(bytes);
    let plugin = context.plugin.as_str();
    match level {
        ffi::FLEXCORE_LOG_ERROR => tracing::error!(plugin, "{message}"),
        ffi::FLEXCORE_LOG_WARN => tracing::warn!(plugin, "{message}"),
        ffi::FLEXCORE_LOG_INFO => tracing::info!(plugin, "{message}"),
        ffi::FLEXCORE_LOG_DEBUG => tracing::debug!(plugin, "{message}"),
        _ => tracing::trace!(plugin, "{message}"),
    }
}

/// # Safety
/// `host_data` must be a table's context; `key` valid for `key_len` bytes;
/// `value` and `value_len` valid for writes.
unsafe extern "C" fn host_config_get(
    host_data: *mut c_void,
    key: *const c_char,
    key_len: usize,
    value: *mut *const c_char,
    value_len: *mut usize,
) -> i32 {
    if host_data.is_null() || key.is_null() || value.is_null() || value_len.is_null() {
        return 0;
    }
    // SAFETY: as in host_log; the key is borrowed for the call.
    let (context, key) = unsafe {
        (
            &*host_data.cast::<HostContext>(),
            std::slice::from_raw_parts(key.cast::<u8>(), key_len),
        )
    };
    let Some(found) = std::str::from_utf8(key).ok().and_then(|k| context.config.get(k)) else {
        return 0;
    };
    // SAFETY: the out-pointers are valid for writes (checked non-null, the
    // caller's promise otherwise); the value lives in the context until shutdown.
    unsafe {
        *value = found.as_ptr().cast();
        *value_len = found.len();
    }
    1
}
