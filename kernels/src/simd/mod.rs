//! Hand-written SIMD helpers: the scalar spellings generated scalar kernels call, and the FMA
//! peak probe used to report "% of peak".

pub mod peak;
pub mod scalar;
