//! Named f32 tensors with torchvision `state_dict` keys: loading (safetensors in F32, F16 or
//! BF16; legacy PyTorch pickles for conversion), saving, and the key-tracking reader the
//! models are built through.

mod half;
mod random;
mod reader;
mod safetensors_io;
pub mod torch_legacy;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

pub(crate) use reader::Reader;

/// One tensor: its shape (PyTorch order) and row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

/// A set of named tensors (a model's `state_dict`), all converted to f32.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    tensors: BTreeMap<String, Tensor>,
    metadata: BTreeMap<String, String>,
}

impl Weights {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tensor; errors if `data` does not hold `shape`'s element count or the key exists.
    pub fn insert(&mut self, key: &str, shape: Vec<usize>, data: Vec<f32>) -> Result<()> {
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::Format(format!("tensor `{key}`: shape {shape:?} overflows")))?;
        if count != data.len() {
            return Err(Error::Format(format!(
                "tensor `{key}`: shape {shape:?} needs {count} values, got {}",
                data.len()
            )));
        }
        if self.tensors.contains_key(key) {
            return Err(Error::Format(format!("tensor `{key}` appears twice")));
        }
        self.tensors.insert(key.to_string(), Tensor { shape, data });
        Ok(())
    }

    /// The tensor named `key`.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.tensors.get(key)
    }

    /// Removes and returns the tensor named `key` (to replace it: `insert` checks the new one).
    pub fn remove(&mut self, key: &str) -> Option<Tensor> {
        self.tensors.remove(key)
    }

    /// Whether a tensor named `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// All keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// A metadata entry (safetensors `__metadata__`; this library writes `arch`,
    /// `width_mult` and `source`).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Sets a metadata entry.
    pub fn set_metadata(&mut self, key: &str, value: &str) {
        self.metadata.insert(key.to_string(), value.to_string());
    }

    /// Total number of values over all tensors.
    pub fn parameter_count(&self) -> usize {
        self.tensors.values().map(|t| t.data.len()).sum()
    }

    /// Renames keys: every tensor whose key `rename` maps to `Some(new)` is moved to `new`,
    /// the others are dropped. Errors if two keys map to the same name.
    pub fn rename(self, mut rename: impl FnMut(&str) -> Option<String>) -> Result<Self> {
        let mut out = Weights {
            metadata: self.metadata,
            ..Weights::new()
        };
        for (key, t) in self.tensors {
            if let Some(new) = rename(&key) {
                out.insert(&new, t.shape, t.data)?;
            }
        }
        Ok(out)
    }

    /// Parses a safetensors file's bytes (F32, F16 and BF16 tensors; integer
    /// `*.num_batches_tracked` counters are skipped, other dtypes rejected).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        safetensors_io::parse(bytes)
    }

    /// Serialises as a safetensors file with F32 tensors and the metadata.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        safetensors_io::serialize(self)
    }

    /// Loads a `.safetensors` file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_safetensors(&read_file(path)?)
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Tensor)> {
        self.tensors.iter()
    }

    fn metadata_entries(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
