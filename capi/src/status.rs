//! Status codes returned by every fallible export, and the thread-local error message.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

/// Result of a C API call. `RVCNN_STATUS_OK` is 0; everything else is an error whose detail
/// is available from `rvcnn_last_error_message()` on the same thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rvcnn_status {
    /// Success.
    RVCNN_STATUS_OK = 0,
    /// A required pointer argument was NULL.
    RVCNN_STATUS_NULL_POINTER = 1,
    /// An argument or descriptor value is invalid.
    RVCNN_STATUS_INVALID_ARGUMENT = 2,
    /// A valid request this build has no kernel for.
    RVCNN_STATUS_UNSUPPORTED = 3,
    /// A caller-provided buffer is too small.
    RVCNN_STATUS_BUFFER_TOO_SMALL = 4,
    /// Reading or writing a file failed.
    RVCNN_STATUS_IO = 5,
    /// Input data (e.g. a weight file) is malformed.
    RVCNN_STATUS_FORMAT = 6,
    /// An allocation failed or a size overflowed.
    RVCNN_STATUS_OUT_OF_MEMORY = 7,
    /// An internal panic was caught at the boundary (a bug: please report it).
    RVCNN_STATUS_PANIC = 8,
}

/// Every status, in value order.
pub(crate) const ALL_STATUSES: [rvcnn_status; 9] = [
    rvcnn_status::RVCNN_STATUS_OK,
    rvcnn_status::RVCNN_STATUS_NULL_POINTER,
    rvcnn_status::RVCNN_STATUS_INVALID_ARGUMENT,
    rvcnn_status::RVCNN_STATUS_UNSUPPORTED,
    rvcnn_status::RVCNN_STATUS_BUFFER_TOO_SMALL,
    rvcnn_status::RVCNN_STATUS_IO,
    rvcnn_status::RVCNN_STATUS_FORMAT,
    rvcnn_status::RVCNN_STATUS_OUT_OF_MEMORY,
    rvcnn_status::RVCNN_STATUS_PANIC,
];

impl rvcnn_status {
    /// A static, NUL-terminated description.
    pub fn message(self) -> &'static std::ffi::CStr {
        match self {
            rvcnn_status::RVCNN_STATUS_OK => c"ok",
            rvcnn_status::RVCNN_STATUS_NULL_POINTER => c"null pointer argument",
            rvcnn_status::RVCNN_STATUS_INVALID_ARGUMENT => c"invalid argument",
            rvcnn_status::RVCNN_STATUS_UNSUPPORTED => c"unsupported",
            rvcnn_status::RVCNN_STATUS_BUFFER_TOO_SMALL => c"buffer too small",
            rvcnn_status::RVCNN_STATUS_IO => c"i/o error",
            rvcnn_status::RVCNN_STATUS_FORMAT => c"malformed input",
            rvcnn_status::RVCNN_STATUS_OUT_OF_MEMORY => c"out of memory",
            rvcnn_status::RVCNN_STATUS_PANIC => c"internal panic (bug)",
        }
    }
}

impl From<&ruvector_cnn_kernels::ops::Error> for rvcnn_status {
    fn from(e: &ruvector_cnn_kernels::ops::Error) -> Self {
        use ruvector_cnn_kernels::ops::Error;
        match e {
            Error::InvalidArgument(_) | Error::LengthMismatch { .. } => {
                rvcnn_status::RVCNN_STATUS_INVALID_ARGUMENT
            }
            Error::Unsupported(_) => rvcnn_status::RVCNN_STATUS_UNSUPPORTED,
            Error::BufferTooSmall { .. } => rvcnn_status::RVCNN_STATUS_BUFFER_TOO_SMALL,
            Error::SizeOverflow(_) => rvcnn_status::RVCNN_STATUS_OUT_OF_MEMORY,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error (interior NULs are replaced).
pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c);
}

/// This thread's last error message; valid until the next failing call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}
