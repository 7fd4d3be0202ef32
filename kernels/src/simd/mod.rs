//! Hand-written SIMD helpers: the scalar spellings generated scalar kernels call, tails by
//! prefix copies, NEON's and SIMD128's NaN-rule and INT8 helpers, and the FMA peak probe used
//! to report "% of peak".

#[cfg(target_arch = "aarch64")]
pub mod neon;
pub mod peak;
pub mod prefix;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm;
