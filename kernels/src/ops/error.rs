//! The error type of every fallible operation in this crate.

use std::fmt;

/// What went wrong creating or running an operator. Never a panic: every user-controlled size
/// and buffer is checked and reported through this type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A descriptor or shape value is invalid (zero channels, stride 0, padding ≥ kernel, …).
    InvalidArgument(String),
    /// A valid request this library has no kernel for (e.g. a 7x7 dense convolution).
    Unsupported(String),
    /// A weight/parameter slice has the wrong length.
    LengthMismatch {
        /// Which argument.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// A data buffer is shorter than the shape requires.
    BufferTooSmall {
        /// Which buffer.
        what: &'static str,
        /// Required length (floats).
        needed: usize,
        /// Given length (floats).
        actual: usize,
    },
    /// A size computation overflowed `usize` (absurdly large dimensions).
    SizeOverflow(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
            Error::Unsupported(msg) => write!(f, "unsupported: {msg}"),
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => {
                write!(f, "{what} has {actual} values, expected {expected}")
            }
            Error::BufferTooSmall {
                what,
                needed,
                actual,
            } => {
                write!(f, "{what} buffer too small: {actual} floats, need {needed}")
            }
            Error::SizeOverflow(what) => write!(f, "size of {what} overflows usize"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// `Err(InvalidArgument)` built from a format string.
macro_rules! invalid {
    ($($arg:tt)*) => {
        Err($crate::ops::Error::InvalidArgument(format!($($arg)*)))
    };
}
pub(crate) use invalid;
