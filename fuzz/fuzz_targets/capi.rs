//! Fuzz target `capi`: see `ruvector_cnn_tests::fuzz::capi`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ruvector_cnn_tests::fuzz::capi(data));
