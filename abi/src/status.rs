//! The status a plugin call ends with, and the HTTP status each maps to.

use crate::ffi;

/// `flexcore_status` as a closed set. Unknown raw codes read as `Internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    Ok = ffi::FLEXCORE_STATUS_OK,
    InvalidInput = ffi::FLEXCORE_STATUS_INVALID_INPUT,
    Unavailable = ffi::FLEXCORE_STATUS_UNAVAILABLE,
    Internal = ffi::FLEXCORE_STATUS_INTERNAL,
    Panic = ffi::FLEXCORE_STATUS_PANIC,
}

impl Status {
    /// Reads a raw status; any code this ABI does not define is `Internal`.
    pub const fn from_raw(raw: ffi::RawStatus) -> Self {
        match raw {
            ffi::FLEXCORE_STATUS_OK => Self::Ok,
            ffi::FLEXCORE_STATUS_INVALID_INPUT => Self::InvalidInput,
            ffi::FLEXCORE_STATUS_UNAVAILABLE => Self::Unavailable,
            ffi::FLEXCORE_STATUS_PANIC => Self::Panic,
            _ => Self::Internal,
        }
    }

    pub const fn to_raw(self) -> ffi::RawStatus {
        self as ffi::RawStatus
    }

    /// The HTTP status code a caller sees for this outcome.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::InvalidInput => 400,
            Self::Unavailable => 503,
            Self::Internal | Self::Panic => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_are_internal_errors() {
        assert_eq!(Status::from_raw(99), Status::Internal);
        assert_eq!(Status::from_raw(-1), Status::Internal);
        for s in [
            Status::Ok,
            Status::InvalidInput,
            Status::Unavailable,
            Status::Internal,
            Status::Panic,
        ] {
            assert_eq!(Status::from_raw(s.to_raw()), s);
        }
    }
}
