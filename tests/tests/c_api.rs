//! The C API exercised from C (`tests/c/capi_tests.c`, compiled by `tests/build.rs`):
//! lifecycle, every NULL argument, bad options and images, short buffers, corrupt weights,
//! out-parameters untouched on error, every status string, struct layout, batches and
//! several C threads embedding with one embedder; every operator kind against a naive C
//! reference, with its error paths and the ISA cap.

use std::ffi::{CString, c_char, c_int};

// Links the C tests, which build.rs bundles into this package's library.
use ruvector_cnn_tests as _;

unsafe extern "C" {
    fn rvcnn_ctest_run(weights_path: *const c_char) -> c_int;
    fn rvcnn_ctest_ops() -> c_int;
}

#[test]
fn c_tests_pass() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../model/tests/fixtures/mobilenet_v3_small.safetensors"
    );
    let c = CString::new(path).unwrap();
    // SAFETY: a valid NUL-terminated path; the C tests only call the library's exports.
    let failures = unsafe { rvcnn_ctest_run(c.as_ptr()) };
    assert_eq!(failures, 0, "{failures} C check(s) failed (see stderr)");
}

#[test]
fn c_op_tests_pass() {
    // SAFETY: the C tests only call the library's exports.
    let failures = unsafe { rvcnn_ctest_ops() };
    assert_eq!(failures, 0, "{failures} C check(s) failed (see stderr)");
}
