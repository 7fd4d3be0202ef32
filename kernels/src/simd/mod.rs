//! Hand-written SIMD helpers: the scalar spellings generated scalar kernels call, NEON's tail
//! and NaN-rule helpers, and the FMA peak probe used to report "% of peak".

#[cfg(target_arch = "aarch64")]
pub mod neon;
pub mod peak;
pub mod scalar;
