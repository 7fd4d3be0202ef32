//! Fuzz target `image`: see `ruvector_cnn_tests::fuzz::image`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ruvector_cnn_tests::fuzz::image(data));
