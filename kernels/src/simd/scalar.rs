//! Scalar spellings of the vector operations generated scalar kernels use. `max`/`min` have
//! the same NaN behaviour as x86 `maxps`/`minps`: the second operand is
//! returned when the comparison is unordered, so `max(0.0, x)` keeps a NaN `x`.

/// `if a > b { a } else { b }`.
#[inline(always)]
pub fn max(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// `if a < b { a } else { b }`.
#[inline(always)]
pub fn min(a: f32, b: f32) -> f32 {
    if a < b { a } else { b }
}

/// `a + b`.
#[inline(always)]
pub fn add(a: f32, b: f32) -> f32 {
    a + b
}

/// `a * b`.
#[inline(always)]
pub fn mul(a: f32, b: f32) -> f32 {
    a * b
}

/// `a * b + c`, rounded twice (a fused multiply-add needs hardware FMA to be fast; the
/// tolerance rule covers both roundings).
#[inline(always)]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    a * b + c
}
