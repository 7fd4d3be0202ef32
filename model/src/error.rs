//! The error type of model building, weight loading and embedding.

use std::fmt;
use std::path::PathBuf;

use ruvector_cnn_kernels::ops;

/// What went wrong. Every problem with user input (files, keys, shapes, images) is reported
/// here, never by a panic.
#[derive(Debug)]
pub enum Error {
    /// Reading a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A weight file is truncated, corrupt or not in the expected format.
    Format(String),
    /// The weights lack a tensor the model needs.
    MissingKey(String),
    /// The weights hold tensors the model does not use (listed, sorted).
    UnexpectedKeys(Vec<String>),
    /// A tensor has the wrong shape.
    Shape {
        /// The tensor's key.
        key: String,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape in the file.
        actual: Vec<usize>,
    },
    /// A tensor has a dtype the loader does not convert.
    Dtype {
        /// The tensor's key.
        key: String,
        /// The dtype in the file.
        dtype: String,
    },
    /// A tensor holds a NaN or an infinity.
    NonFinite {
        /// The tensor's key.
        key: String,
        /// Index of the first bad value.
        index: usize,
    },
    /// An argument is invalid (image size, buffer length, option).
    InvalidArgument(String),
    /// A valid request this build cannot serve (e.g. logits of a model without a classifier).
    Unsupported(String),
    /// An operator rejected its parameters or buffers, with the layer it belongs to.
    Op {
        /// The layer (torchvision key prefix, e.g. `features.3.block.1`).
        layer: String,
        /// The operator's error.
        source: ops::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Format(msg) => write!(f, "bad weight file: {msg}"),
            Error::MissingKey(key) => write!(f, "weights have no tensor `{key}`"),
            Error::UnexpectedKeys(keys) => {
                let shown: Vec<&str> = keys.iter().take(8).map(String::as_str).collect();
                let more = keys.len().saturating_sub(shown.len());
                write!(
                    f,
                    "weights hold {} unexpected tensor(s): {}",
                    keys.len(),
                    shown.join(", ")
                )?;
                if more > 0 {
                    write!(f, " and {more} more")?;
                }
                Ok(())
            }
            Error::Shape {
                key,
                expected,
                actual,
            } => write!(
                f,
                "tensor `{key}` has shape {actual:?}, the model needs {expected:?}"
            ),
            Error::Dtype { key, dtype } => write!(
                f,
                "tensor `{key}` has dtype {dtype}; supported are F32, F16 and BF16"
            ),
            Error::NonFinite { key, index } => {
                write!(
                    f,
                    "tensor `{key}` holds a non-finite value at index {index}"
                )
            }
            Error::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
            Error::Unsupported(msg) => write!(f, "unsupported: {msg}"),
            Error::Op { layer, source } => write!(f, "layer {layer}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Op { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Attaches the layer name to an operator error.
pub(crate) trait OpContext<T> {
    /// Maps an [`ops::Error`] to [`Error::Op`] naming `layer`.
    fn layer(self, layer: &str) -> Result<T>;
}

impl<T> OpContext<T> for ops::Result<T> {
    fn layer(self, layer: &str) -> Result<T> {
        self.map_err(|source| Error::Op {
            layer: layer.to_string(),
            source,
        })
    }
}
