//! The reader a model is built through: it hands out tensors by key with the shape the model
//! needs, and at the end reports every tensor the model did not use.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::Weights;
use crate::error::{Error, Result};

/// Borrowing, key-tracking view of [`Weights`].
pub(crate) struct Reader<'a> {
    weights: &'a Weights,
    used: RefCell<BTreeSet<&'a str>>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(weights: &'a Weights) -> Self {
        Reader {
            weights,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// Whether `key` exists (not marked used).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.weights.contains(key)
    }

    /// The shape of `key`, if present (not marked used).
    pub(crate) fn shape(&self, key: &str) -> Option<&'a [usize]> {
        self.weights.get(key).map(|t| t.shape.as_slice())
    }

    /// The values of `key`, which must have shape `shape` and only finite values.
    pub(crate) fn take(&self, key: &str, shape: &[usize]) -> Result<&'a [f32]> {
        let (stored, t) = self
            .weights
            .tensors
            .get_key_value(key)
            .ok_or_else(|| Error::MissingKey(key.to_string()))?;
        if t.shape != shape {
            return Err(Error::Shape {
                key: key.to_string(),
                expected: shape.to_vec(),
                actual: t.shape.clone(),
            });
        }
        if let Some(index) = t.data.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                key: key.to_string(),
                index,
            });
        }
        self.used.borrow_mut().insert(stored.as_str());
        Ok(&t.data)
    }

    /// Errors with the list of tensors never taken.
    pub(crate) fn finish(self) -> Result<()> {
        let used = self.used.into_inner();
        let unused: Vec<String> = self
            .weights
            .keys()
            .filter(|k| !used.contains(k))
            .map(str::to_string)
            .collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(Error::UnexpectedKeys(unused))
        }
    }
}
