//! The one boundary every export goes through: panics are caught and reported as
//! `RVCNN_STATUS_PANIC`, errors become a status plus this thread's last-error message.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::{rvcnn_status, set_last_error};

/// An error on its way to C: a status and a message.
pub(crate) struct Failure(pub rvcnn_status, pub String);

impl From<ruvector_cnn_kernels::ops::Error> for Failure {
    fn from(e: ruvector_cnn_kernels::ops::Error) -> Self {
        Failure((&e).into(), e.to_string())
    }
}

/// Runs `body`, converting its outcome (or a panic) into a status.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> rvcnn_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => rvcnn_status::RVCNN_STATUS_OK,
        Ok(Err(Failure(status, message))) => {
            set_last_error(&message);
            status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal panic: {what}"));
            rvcnn_status::RVCNN_STATUS_PANIC
        }
    }
}

/// An `INVALID_ARGUMENT` failure with `msg`.
pub(crate) fn invalid(msg: String) -> Failure {
    Failure(rvcnn_status::RVCNN_STATUS_INVALID_ARGUMENT, msg)
}

/// `Err(BUFFER_TOO_SMALL)` naming `what` when it holds fewer than `want` floats.
pub(crate) fn at_least(what: &str, have: usize, want: usize) -> Result<(), Failure> {
    if have < want {
        Err(Failure(
            rvcnn_status::RVCNN_STATUS_BUFFER_TOO_SMALL,
            format!("{what} holds {have} floats, {want} needed"),
        ))
    } else {
        Ok(())
    }
}

/// `Err(NULL_POINTER)` naming `what` when `p` is NULL.
pub(crate) fn non_null<T>(p: *const T, what: &str) -> Result<(), Failure> {
    if p.is_null() {
        Err(Failure(
            rvcnn_status::RVCNN_STATUS_NULL_POINTER,
            format!("{what} is NULL"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_a_status() {
        assert_eq!(guard(|| panic!("boom")), rvcnn_status::RVCNN_STATUS_PANIC);
        assert_eq!(guard(|| Ok(())), rvcnn_status::RVCNN_STATUS_OK);
        let s = guard(|| Err(Failure(rvcnn_status::RVCNN_STATUS_IO, "disk".into())));
        assert_eq!(s, rvcnn_status::RVCNN_STATUS_IO);
    }
}
