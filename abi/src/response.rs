//! What a plugin returns: a [`Response`] or a [`PluginError`], and how each is
//! handed across the boundary and released again.

use std::borrow::Cow;

use crate::Status;
use crate::ffi::FlexcoreResponse;

/// One invocation's output. The content type may borrow from the request
/// (the host keeps the request alive until the response is released).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'r> {
    body: Vec<u8>,
    content_type: Cow<'r, str>,
}

impl<'r> Response<'r> {
    /// A response with these bytes as its body, typed `application/octet-stream`.
    pub fn bytes(body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            content_type: Cow::Borrowed(""),
        }
    }

    /// A JSON response.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, crate::PluginError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| crate::PluginError::internal(format!("could not serialise the response: {e}")))?;
        Ok(Self {
            body,
            content_type: Cow::Borrowed("application/json"),
        })
    }

    /// Sets the content type (an empty one means `application/octet-stream`).
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'r, str>>) -> Self {
        self.content_type = content_type.into();
        self
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Moves the response into the raw struct; [`release`] gives it back.
    pub(crate) fn write_into(self, raw: &mut FlexcoreResponse) {
        let (ptr, len, cap) = into_raw_parts(self.body);
        raw.body = ptr;
        raw.body_len = len;
        raw.plugin_data[0] = cap;
        match self.content_type {
            Cow::Borrowed(ct) => {
                raw.content_type = ct.as_ptr().cast();
                raw.content_type_len = ct.len();
                raw.plugin_data[1] = 0;
            }
            Cow::Owned(ct) => {
                let (ptr, len, cap) = into_raw_parts(ct.into_bytes());
                raw.content_type = ptr.cast();
                raw.content_type_len = len;
                raw.plugin_data[1] = cap;
            }
        }
    }
}

/// Why a call failed: a status and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    status: Status,
    message: Cow<'static, str>,
}

impl PluginError {
    pub fn new(status: Status, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The caller's input is wrong (HTTP 400).
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::InvalidInput, message)
    }

    /// The plugin cannot serve now; try later (HTTP 503).
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::Unavailable, message)
    }

    /// The plugin failed (HTTP 500).
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::Internal, message)
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Moves the message into the raw struct and returns the raw status.
    pub(crate) fn write_into(self, raw: &mut FlexcoreResponse) -> i32 {
        let status = if self.status == Status::Ok {
            Status::Internal
        } else {
            self.status
        };
        let (ptr, len, cap) = into_raw_parts(self.message.into_owned().into_bytes());
        raw.error_message = ptr.cast();
        raw.error_message_len = len;
        raw.plugin_data[0] = cap;
        status.to_raw()
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.status, self.message)
    }
}

impl std::error::Error for PluginError {}

/// Frees what [`Response::write_into`] or [`PluginError::write_into`] stored.
///
/// # Safety
/// `raw` must have been filled by one of those two and not released since.
pub(crate) unsafe fn release(raw: &mut FlexcoreResponse) {
    // SAFETY: each pointer with its length and the capacity kept in
    // plugin_data came from a Vec<u8> that was forgotten by into_raw_parts.
    unsafe {
        if !raw.body.is_null() {
            drop(Vec::from_raw_parts(
                raw.body.cast_mut(),
                raw.body_len,
                raw.plugin_data[0],
            ));
        } else if !raw.error_message.is_null() {
            drop(Vec::from_raw_parts(
                raw.error_message.cast_mut().cast::<u8>(),
                raw.error_message_len,
                raw.plugin_data[0],
            ));
        }
        if !raw.content_type.is_null() && raw.plugin_data[1] != 0 {
            drop(Vec::from_raw_parts(
                raw.content_type.cast_mut().cast::<u8>(),
                raw.content_type_len,
                raw.plugin_data[1],
            ));
        }
    }
    *raw = FlexcoreResponse {
        struct_size: raw.struct_size,
        ..FlexcoreResponse::empty()
    };
}

fn into_raw_parts(bytes: Vec<u8>) -> (*const u8, usize, usize) {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    (bytes.as_mut_ptr().cast_const(), bytes.len(), bytes.capacity())
}
