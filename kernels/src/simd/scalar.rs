//! Scalar spellings of the vector operations generated scalar kernels use. `max`/`min` have
//! the same NaN behaviour as x86 `maxps`/`minps`: the second operand is
//! returned when the comparison is unordered, so `max(0.0, x)` keeps a NaN `x`.

use super::prefix::read_prefix;

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

/// `a - b`.
#[inline(always)]
pub fn sub(a: f32, b: f32) -> f32 {
    a - b
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

/// `acc + Σₜ a[t]·w[t]` for the 4 activation bytes of `a` (byte `t` = index `t`) and the 4
/// signed weights at `w`, wrapping like `vpdpbusd`.
///
/// # Safety
/// `w` must be valid for reading 4 bytes.
#[inline(always)]
pub unsafe fn dot4(acc: i32, a: u32, w: *const u8) -> i32 {
    // SAFETY: the caller guarantees 4 readable bytes at `w`.
    let w = unsafe { w.cast::<[u8; 4]>().read_unaligned() };
    (0..4).fold(acc, |s, t| {
        let x = (a >> (8 * t)) as u8 as i32;
        s.wrapping_add(x * w[t] as i8 as i32)
    })
}

/// The `n ≤ 4` bytes at `p` as the low bytes of a `u32` (the rest zero), without reading
/// past them.
///
/// # Safety
/// `p` must be valid for reading `n` bytes.
#[inline(always)]
pub unsafe fn tail_u32(p: *const u8, n: usize) -> u32 {
    // SAFETY: only the `n` bytes the caller vouches for are read.
    u32::from_le_bytes(unsafe { read_prefix(p, n) })
}

/// `v` rounded to the nearest integer, ties to even (like `cvtps2dq`); `|v| ≤ 2³⁰`.
#[inline(always)]
pub fn round_i32(v: f32) -> i32 {
    v.round_ties_even() as i32
}

/// `v` as f32 (exact below 2²⁴ in magnitude, like `cvtdq2ps`).
#[inline(always)]
pub fn to_f32(v: i32) -> f32 {
    v as f32
}

/// `a >> s` (arithmetic, `s` in `0..32`).
#[inline(always)]
pub fn sra(a: i32, s: i32) -> i32 {
    a >> s
}
