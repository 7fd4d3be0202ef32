//! Fuzz target `torch_legacy`: see `ruvector_cnn_tests::fuzz::torch_legacy`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ruvector_cnn_tests::fuzz::torch_legacy(data));
