//! A call's input and output as the host sees them, and the reading of a
//! plugin's raw response (status, body, content type, error message) into
//! them. Depends on nothing else in the host: [`super::call`] decides when a
//! response is copied and when it is adopted without a copy.

use bytes::Bytes;
use flexcore_abi::Status;
use flexcore_abi::ffi::FlexcoreResponse;
use http::HeaderValue;

/// Outputs at least this large are handed to hyper without a copy.
pub(super) const ZERO_COPY_MIN: usize = 64 * 1024;

/// One call's input, borrowed for the call.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub body: &'a [u8],
    pub content_type: &'a [u8],
    pub request_id: &'a [u8],
    /// Milliseconds since the Unix epoch; 0 for none.
    pub deadline_unix_ms: u64,
    /// Settings for this call as JSON text (ABI 1.1); empty for none.
    pub config: &'a [u8],
}

/// A successful call's output.
#[derive(Debug)]
pub struct Output {
    pub body: Bytes,
    pub content_type: HeaderValue,
}

/// A call that ended with a status other than OK.
#[derive(Debug, Clone)]
pub struct CallError {
    pub status: Status,
    pub message: String,
}

/// Copies the response out of the plugin's memory.
///
/// # Safety
/// Every (pointer, length) in `raw` must be valid, as after `invoke`.
pub(super) unsafe fn read_copied(status: i32, raw: &FlexcoreResponse) -> Result<Output, CallError> {
    // SAFETY: forwarded from the caller.
    let body = unsafe { read_borrowed(status, raw) }?;
    // SAFETY: as above.
    let content_type = unsafe { content_type_of(raw) };
    Ok(Output {
        body: Bytes::copy_from_slice(body),
        content_type,
    })
}

/// Lends a successful response's body; an error becomes a [`CallError`].
///
/// # Safety
/// As [`read_copied`]; the body is valid until `free_response`.
pub(super) unsafe fn read_borrowed(status: i32, raw: &FlexcoreResponse) -> Result<&[u8], CallError> {
    match Status::from_raw(status) {
        // SAFETY: forwarded from the caller.
        Status::Ok => Ok(unsafe { bytes(raw.body, raw.body_len) }),
        status => {
            // SAFETY: as above.
            let message = unsafe { bytes(raw.error_message.cast(), raw.error_message_len) };
            let message = if message.is_empty() {
                "no message".to_owned()
            } else {
                String::from_utf8_lossy(message).into_owned()
            };
            Err(CallError { status, message })
        }
    }
}

/// Takes the response out of `slot`, leaving a marker that it was taken, so
/// that the caller does not free it a second time.
pub(super) fn take(slot: &mut FlexcoreResponse) -> FlexcoreResponse {
    std::mem::replace(
        slot,
        FlexcoreResponse {
            struct_size: 0,
            ..FlexcoreResponse::empty()
        },
    )
}

/// Whether [`take`] emptied this slot.
pub(super) fn taken(slot: &FlexcoreResponse) -> bool {
    slot.struct_size == 0
}

/// The response's content type as a header value.
///
/// # Safety
/// `raw.content_type` must be valid for `raw.content_type_len` bytes.
pub(super) unsafe fn content_type_of(raw: &FlexcoreResponse) -> HeaderValue {
    // SAFETY: by the caller's promise.
    content_type_value(unsafe { bytes(raw.content_type.cast(), raw.content_type_len) })
}

/// The response's content type as a header value; empty or invalid ones
/// become `application/octet-stream`, common ones cost no allocation.
fn content_type_value(raw: &[u8]) -> HeaderValue {
    const COMMON: [&str; 4] = [
        "application/json",
        "text/plain",
        "application/octet-stream",
        "text/plain; charset=utf-8",
    ];
    if raw.is_empty() {
        return HeaderValue::from_static("application/octet-stream");
    }
    if let Some(common) = COMMON.iter().find(|c| c.as_bytes() == raw) {
        return HeaderValue::from_static(common);
    }
    HeaderValue::from_bytes(raw).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// # Safety
/// `ptr` must be valid for `len` bytes, or `len` must be 0.
pub(super) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: by the caller's promise.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}
