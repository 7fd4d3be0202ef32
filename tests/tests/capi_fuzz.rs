//! The C API's operator objects never panic (`RVCNN_STATUS_PANIC`) or misbehave on arbitrary
//! descriptors and shapes: random (often invalid) kernel sizes, strides, paddings, channel
//! counts, array lengths and input shapes, run through create + output_shape + run. Arrays
//! always hold what their length fields claim, as the C contract requires.

use proptest::prelude::*;
use ruvector_cnn_tests::fuzz::{Bytes, CapiCase, capi_case};

/// Four times the per-variant case count (`RVCNN_PROPTEST_CASES`): each case is cheap.
fn config() -> ProptestConfig {
    let base = ruvector_cnn_tests::proptest_config();
    ProptestConfig {
        cases: base.cases * 4,
        ..base
    }
}

/// Cases decoded from random bytes by the fuzz target's own decoder.
fn case() -> impl Strategy<Value = CapiCase> {
    proptest::collection::vec(any::<u8>(), 16..80)
        .prop_map(|bytes| CapiCase::from_bytes(&mut Bytes::new(&bytes)))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ops_never_panic(c in case()) {
        prop_assert!(capi_case(&c).is_ok(), "{:?}", capi_case(&c));
    }
}
