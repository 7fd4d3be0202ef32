//! Fuzz target `ops`: see `ruvector_cnn_tests::fuzz::ops`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ruvector_cnn_tests::fuzz::ops(data));
