//! The raw ABI: `#[repr(C)]` mirrors of every type in `include/flexcore.h`.
//!
//! Field for field the same as the header (the `layout` test compiles the header
//! and compares sizes, alignments and offsets). Plugins written with the SDK
//! never touch these directly; the gateway's plugin host does.

use core::ffi::{c_char, c_void};

/// `flexcore_status`.
pub type RawStatus = i32;

pub const FLEXCORE_STATUS_OK: RawStatus = 0;
pub const FLEXCORE_STATUS_INVALID_INPUT: RawStatus = 1;
pub const FLEXCORE_STATUS_UNAVAILABLE: RawStatus = 2;
pub const FLEXCORE_STATUS_INTERNAL: RawStatus = 3;
pub const FLEXCORE_STATUS_PANIC: RawStatus = 4;

/// `invoke` may be called from several threads at once.
pub const FLEXCORE_FLAG_THREAD_SAFE: u64 = 1 << 0;
/// `invoke` may block; the host calls it on its blocking thread pool.
pub const FLEXCORE_FLAG_MAY_BLOCK: u64 = 1 << 1;

pub const FLEXCORE_LOG_ERROR: i32 = 1;
pub const FLEXCORE_LOG_WARN: i32 = 2;
pub const FLEXCORE_LOG_INFO: i32 = 3;
pub const FLEXCORE_LOG_DEBUG: i32 = 4;
pub const FLEXCORE_LOG_TRACE: i32 = 5;

/// The exported entry point's name, NUL-terminated.
pub const ENTRY_SYMBOL: &[u8] = b"flexcore_plugin_entry_v1\0";

/// `flexcore_plugin_entry_fn`.
pub type EntryFn = unsafe extern "C" fn(u16, u16) -> *const FlexcorePlugin;

/// `flexcore_host`: services the host offers a plugin, valid until `shutdown`.
#[repr(C)]
#[derive(Debug)]
pub struct FlexcoreHost {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub host_data: *mut c_void,
    pub log: Option<unsafe extern "C" fn(*mut c_void, i32, *const c_char, usize)>,
    pub config_get:
        Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut *const c_char, *mut usize) -> i32>,
}

/// `flexcore_request`: one invocation's input, borrowed by the plugin.
#[repr(C)]
#[derive(Debug)]
pub struct FlexcoreRequest {
    pub struct_size: u32,
    pub reserved: u32,
    pub body: *const u8,
    pub body_len: usize,
    pub content_type: *const c_char,
    pub content_type_len: usize,
    pub request_id: *const c_char,
    pub request_id_len: usize,
    pub deadline_unix_ms: u64,
    /// Since ABI 1.1.
    pub config: *const c_char,
    pub config_len: usize,
}

/// `flexcore_response`: one invocation's output, owned by the plugin until
/// `free_response`.
#[repr(C)]
#[derive(Debug)]
pub struct FlexcoreResponse {
    pub struct_size: u32,
    pub reserved: u32,
    pub body: *const u8,
    pub body_len: usize,
    pub content_type: *const c_char,
    pub content_type_len: usize,
    pub error_message: *const c_char,
    pub error_message_len: usize,
    pub plugin_data: [usize; 2],
}

impl FlexcoreResponse {
    /// A zeroed response with `struct_size` set, as the host passes it to `invoke`.
    pub const fn empty() -> Self {
        Self {
            struct_size: size_of::<Self>() as u32,
            reserved: 0,
            body: core::ptr::null(),
            body_len: 0,
            content_type: core::ptr::null(),
            content_type_len: 0,
            error_message: core::ptr::null(),
            error_message_len: 0,
            plugin_data: [0; 2],
        }
    }
}

/// `flexcore_plugin`: the static descriptor a plugin's entry point returns.
#[repr(C)]
#[derive(Debug)]
pub struct FlexcorePlugin {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub flags: u64,
    pub init: Option<unsafe extern "C" fn(*const FlexcoreHost, *mut *mut c_void) -> RawStatus>,
    pub invoke: Option<unsafe extern "C" fn(*mut c_void, *const FlexcoreRequest, *mut FlexcoreResponse) -> RawStatus>,
    pub free_response: Option<unsafe extern "C" fn(*mut c_void, *mut FlexcoreResponse)>,
    pub shutdown: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// The smallest descriptor a v1 host accepts: up to and including `shutdown`.
pub const FLEXCORE_PLUGIN_V1_SIZE: usize = size_of::<FlexcorePlugin>();
