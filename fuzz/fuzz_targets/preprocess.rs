//! Fuzz target `preprocess`: see `ruvector_cnn_tests::fuzz::preprocess`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ruvector_cnn_tests::fuzz::preprocess(data));
