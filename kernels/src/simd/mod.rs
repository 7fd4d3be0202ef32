//! Hand-written helpers that generated kernels call.

pub mod scalar;
