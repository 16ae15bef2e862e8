//! The request a plugin receives: a view of the host's raw request.
//!
//! [`Request`] is the raw `flexcore_request` itself behind a safe interface, so
//! crossing the boundary costs nothing. A `&Request` can be had only from the
//! host (through the trampoline) or from a [`RequestBuf`], which borrows Rust
//! slices for its lifetime; either way its pointers are valid while it is.

use std::marker::PhantomData;
use std::ops::Deref;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ffi::FlexcoreRequest;

/// One invocation's input, borrowed from the host for the length of the call.
#[repr(transparent)]
#[derive(Debug)]
pub struct Request {
    raw: FlexcoreRequest,
}

impl Request {
    /// Views the host's raw request.
    ///
    /// # Safety
    /// Every (pointer, length) pair in `raw` must be valid for reads for `'a`
    /// and the text fields must be UTF-8, as `flexcore.h` promises.
    pub(crate) unsafe fn from_raw<'a>(raw: *const FlexcoreRequest) -> &'a Self {
        // SAFETY: `Request` is `repr(transparent)` over `FlexcoreRequest`; validity
        // of the pointee for 'a is the caller's promise.
        unsafe { &*raw.cast::<Self>() }
    }

    /// The request body.
    pub fn body(&self) -> &[u8] {
        // SAFETY: every `Request` comes from `from_raw` or `RequestBuf`, both of
        // which guarantee the pointers are valid while `self` is borrowed.
        unsafe { slice(self.raw.body, self.raw.body_len) }
    }

    /// The body's content type, `""` when the caller sent none.
    pub fn content_type(&self) -> &str {
        // SAFETY: as in `body`; the host and `RequestBuf` only pass UTF-8.
        unsafe { text(self.raw.content_type.cast(), self.raw.content_type_len) }
    }

    /// The request id the gateway assigned (or the caller sent).
    pub fn request_id(&self) -> &str {
        // SAFETY: as in `content_type`.
        unsafe { text(self.raw.request_id.cast(), self.raw.request_id_len) }
    }

    /// The moment past which the caller has already been answered with a timeout.
    pub fn deadline(&self) -> Option<SystemTime> {
        let ms = self.raw.deadline_unix_ms;
        (ms != 0).then(|| UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// Settings for this call as JSON text (a pipeline step's `config`), or
    /// `""` when there are none or the host predates ABI 1.1.
    pub fn config(&self) -> &str {
        let covered =
            self.raw.struct_size as usize >= std::mem::offset_of!(FlexcoreRequest, config_len) + size_of::<usize>();
        if !covered {
            return "";
        }
        // SAFETY: as in `content_type`; the fields exist, as struct_size says.
        unsafe { text(self.raw.config.cast(), self.raw.config_len) }
    }

    /// Parses the body as JSON; a malformed body is an invalid-input error.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::PluginError> {
        serde_json::from_slice(self.body())
            .map_err(|e| crate::PluginError::invalid_input(format!("request body is not valid JSON: {e}")))
    }
}

/// A request built from Rust values, for tests and direct calls of a plugin
/// function; it dereferences to [`Request`].
#[derive(Debug)]
pub struct RequestBuf<'a> {
    request: Request,
    _borrows: PhantomData<&'a [u8]>,
}

impl<'a> RequestBuf<'a> {
    pub fn new(body: &'a [u8], content_type: &'a str, request_id: &'a str) -> Self {
        Self::with_deadline(body, content_type, request_id, 0)
    }

    /// As [`new`](Self::new), with a deadline in ms since the Unix epoch (0: none).
    pub fn with_deadline(body: &'a [u8], content_type: &'a str, request_id: &'a str, deadline_unix_ms: u64) -> Self {
        let raw = FlexcoreRequest {
            struct_size: size_of::<FlexcoreRequest>() as u32,
            reserved: 0,
            body: body.as_ptr(),
            body_len: body.len(),
            content_type: content_type.as_ptr().cast(),
            content_type_len: content_type.len(),
            request_id: request_id.as_ptr().cast(),
            request_id_len: request_id.len(),
            deadline_unix_ms,
            config: "".as_ptr().cast(),
            config_len: 0,
        };
        Self {
            request: Request { raw },
            _borrows: PhantomData,
        }
    }

    /// Sets the call's settings (JSON text), as a pipeline step's `config` does.
    pub fn with_config(mut self, config: &'a str) -> Self {
        self.request.raw.config = config.as_ptr().cast();
        self.request.raw.config_len = config.len();
        self
    }

    /// The raw struct, for handing to a plugin's `invoke` through the C ABI.
    pub fn as_raw(&self) -> &FlexcoreRequest {
        &self.request.raw
    }
}

impl Deref for RequestBuf<'_> {
    type Target = Request;

    fn deref(&self) -> &Request {
        &self.request
    }
}

/// # Safety
/// `ptr` must be valid for `len` bytes for `'a` (or `len` must be 0).
unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: non-null and valid for `len` bytes, by the caller's promise.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// # Safety
/// As [`slice`], and the bytes must be UTF-8.
unsafe fn text<'a>(ptr: *const u8, len: usize) -> &'a str {
    // SAFETY: valid and UTF-8 by the caller's promise.
    unsafe { std::str::from_utf8_unchecked(slice(ptr, len)) }
}
