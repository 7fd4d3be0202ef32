//! WebAssembly SIMD128 helpers the generated wasm32 kernels call: partial (tail) loads and
//! stores, which SIMD128 has no masked form of, and the INT8 pieces (byte interleaves, the
//! widening 4-way dot product, narrowing stores). Everything here is plain `v128` arithmetic;
//! the module only compiles with `+simd128`.

use core::arch::wasm32::*;

use super::prefix::{read_prefix, write_prefix};
use super::scalar::tail_u32;

/// The first `n ≤ 4` floats at `p`, the other lanes zero; nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` floats.
#[inline(always)]
pub unsafe fn load_partial(p: *const f32, n: usize) -> v128 {
    // SAFETY: the caller vouches for `n ≤ 4` readable floats; the array holds 4.
    unsafe { v128_load(read_prefix::<f32, 4>(p, n).as_ptr() as *const v128) }
}

/// Stores the first `n ≤ 4` lanes of `v` at `p`; nothing past them is written.
///
/// # Safety
/// `p` must be valid for writing `n` floats.
#[inline(always)]
pub unsafe fn store_partial(p: *mut f32, n: usize, v: v128) {
    let mut buf = [0f32; 4];
    // SAFETY: `buf` holds 4 floats; the caller vouches for `n ≤ 4` writable floats at `p`.
    unsafe {
        v128_store(buf.as_mut_ptr() as *mut v128, v);
        write_prefix(buf, p, n);
    }
}

/// `acc + Σₜ x[t]·w[t]` per `i32` lane over its 4 bytes (u8 activations `x`, s8 weights `w`):
/// both widened to 16 bits and multiplied in pairs by `i32x4.dot_i16x8_s` (a product is at
/// most 255·128 and a pair sum fits `i32`), the pair sums then added lane by lane; wrapping
/// like `vpdpbusd`.
#[inline(always)]
pub fn dot4_widen(acc: v128, x: v128, w: v128) -> v128 {
    // Lanes 0, 1 of the low half are (t0 + t1, t2 + t3) of output lane 0, lanes 2, 3 those of
    // output lane 1; the high half likewise for output lanes 2, 3.
    let lo = i32x4_dot_i16x8(u16x8_extend_low_u8x16(x), i16x8_extend_low_i8x16(w));
    let hi = i32x4_dot_i16x8(u16x8_extend_high_u8x16(x), i16x8_extend_high_i8x16(w));
    let even = i32x4_shuffle::<0, 2, 4, 6>(lo, hi);
    let odd = i32x4_shuffle::<1, 3, 5, 7>(lo, hi);
    i32x4_add(acc, i32x4_add(even, odd))
}

/// Interleaves the bytes of the low halves of `a` and `b`.
#[inline(always)]
pub fn zip1_u8(a: v128, b: v128) -> v128 {
    i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b)
}

/// Interleaves the bytes of the high halves of `a` and `b`.
#[inline(always)]
pub fn zip2_u8(a: v128, b: v128) -> v128 {
    i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(a, b)
}

/// Interleaves the 16-bit pairs of the low halves of `a` and `b`.
#[inline(always)]
pub fn zip1_u16(a: v128, b: v128) -> v128 {
    i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b)
}

/// Interleaves the 16-bit pairs of the high halves of `a` and `b`.
#[inline(always)]
pub fn zip2_u16(a: v128, b: v128) -> v128 {
    i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b)
}

/// The 16 `i32` lanes of `o0..o3` (each in `0..=255`) as bytes, in that order.
#[inline(always)]
pub fn pack4_u8(o0: v128, o1: v128, o2: v128, o3: v128) -> v128 {
    u8x16_narrow_i16x8(u16x8_narrow_i32x4(o0, o1), u16x8_narrow_i32x4(o2, o3))
}

/// The first `n < 16` bytes at `p`, the other bytes zero; nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` bytes.
#[inline(always)]
pub unsafe fn load_bytes_partial(p: *const u8, n: usize) -> v128 {
    // SAFETY: the caller vouches for `n` readable bytes; the array holds 16.
    unsafe { v128_load(read_prefix::<u8, 16>(p, n).as_ptr() as *const v128) }
}

/// Stores the first `n < 16` bytes of `v` at `p`; nothing past them is written.
///
/// # Safety
/// `p` must be valid for writing `n` bytes.
#[inline(always)]
pub unsafe fn store_bytes_partial(p: *mut u8, n: usize, v: v128) {
    let mut buf = [0u8; 16];
    // SAFETY: `buf` holds 16 bytes; the caller vouches for `n` writable bytes at `p`.
    unsafe {
        v128_store(buf.as_mut_ptr() as *mut v128, v);
        write_prefix(buf, p, n);
    }
}

/// The first `n ≤ 4` bytes at `p` zero-extended to `i32` lanes, the other lanes zero;
/// nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` bytes.
#[inline(always)]
pub unsafe fn load_u8x4(p: *const u8, n: usize) -> v128 {
    // SAFETY: the caller vouches for `n` readable bytes.
    let b = u32x4_splat(unsafe { tail_u32(p, n) });
    u32x4_extend_low_u16x8(u16x8_extend_low_u8x16(b))
}

/// Stores the first `n ≤ 4` lanes of `v` (each in `0..=255`) as bytes at `p`; nothing past
/// them is written.
///
/// # Safety
/// `p` must be valid for writing `n` bytes.
#[inline(always)]
pub unsafe fn store_u8x4(p: *mut u8, n: usize, v: v128) {
    let h = u16x8_narrow_i32x4(v, v);
    let bytes = u32x4_extract_lane::<0>(u8x16_narrow_i16x8(h, h)).to_le_bytes();
    // SAFETY: the caller vouches for `n ≤ 4` writable bytes at `p`.
    unsafe { write_prefix(bytes, p, n) };
}
