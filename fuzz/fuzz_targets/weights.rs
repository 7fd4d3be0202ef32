//! Fuzz target `weights`: see `ruvector_cnn_tests::fuzz::weights`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ruvector_cnn_tests::fuzz::weights(data));
