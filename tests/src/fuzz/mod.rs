//! Fuzz target bodies, shared by the cargo-fuzz targets (`fuzz/`, nightly, coverage-guided)
//! and the stable regression test over the committed corpus (`tests/tests/fuzz_corpus.rs`).
//! Each takes arbitrary bytes; any input may give an error, none may panic, crash or read out
//! of bounds (the fuzz build runs under AddressSanitizer). The op and C-API bodies turn the
//! bytes into the same cases the proptests in `op_errors.rs` / `capi_fuzz.rs` generate.

mod bytes;
mod capi;
mod files;
mod ops;

pub use bytes::Bytes;
pub use capi::{CapiCase, capi_case};
#[cfg(feature = "image")]
pub use files::image;
pub use files::{preprocess, torch_legacy, weights};
pub use ops::{OpCase, depthwise, exercise};

/// The C API: an operator object from a fuzzed descriptor, then `output_shape`,
/// `workspace_size` and `run` on buffers of fuzzed lengths; and an embedder created from the
/// remaining bytes as a weight file. Panics (the harness's crash) on a broken contract.
pub fn capi(data: &[u8]) {
    let mut b = Bytes::new(data);
    let case = CapiCase::from_bytes(&mut b);
    if let Err(e) = capi_case(&case) {
        panic!("{e} on {case:?}");
    }
    capi::embedder_from_memory(b.rest());
}

/// Every Rust operator from one fuzzed case (descriptor, shape and buffer lengths).
pub fn ops(data: &[u8]) {
    exercise(&OpCase::from_bytes(&mut Bytes::new(data)));
}

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// The fuzz targets by name (the names of `fuzz/fuzz_targets/*.rs` and of the corpus
/// folders `fuzz/corpus/<name>`). `image` needs the `image` feature (on by default).
pub const TARGETS: &[(&str, Target)] = &[
    ("weights", weights),
    ("torch_legacy", torch_legacy),
    #[cfg(feature = "image")]
    ("image", image),
    ("preprocess", preprocess),
    ("ops", ops),
    ("capi", capi),
];
