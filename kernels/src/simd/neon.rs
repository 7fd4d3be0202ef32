//! NEON helpers the generated aarch64 kernels call: partial (tail) loads and stores, which
//! NEON has no masked form of, and `max`/`min` with the x86 NaN rule the kernels are specified
//! with (the second operand when unordered, so `max(0, NaN)` is NaN like `maxps`).

use core::arch::aarch64::*;

use super::prefix::{read_prefix, write_prefix};
use super::scalar::tail_u32;

/// The first `n ≤ 4` floats at `p`, the other lanes zero; nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` floats.
#[inline(always)]
pub unsafe fn load_partial(p: *const f32, n: usize) -> float32x4_t {
    // SAFETY: the caller vouches for `n ≤ 4` readable floats; the array holds 4.
    unsafe { vld1q_f32(read_prefix::<f32, 4>(p, n).as_ptr()) }
}

/// Stores the first `n ≤ 4` lanes of `v` at `p`; nothing past them is written.
///
/// # Safety
/// `p` must be valid for writing `n` floats.
#[inline(always)]
pub unsafe fn store_partial(p: *mut f32, n: usize, v: float32x4_t) {
    let mut buf = [0f32; 4];
    // SAFETY: `buf` holds 4 floats; the caller vouches for `n ≤ 4` writable floats at `p`.
    unsafe {
        vst1q_f32(buf.as_mut_ptr(), v);
        write_prefix(buf, p, n);
    }
}

/// `a > b ? a : b` per lane (`b` when unordered).
#[inline(always)]
pub fn vmax_x86(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vbslq_f32(vcgtq_f32(a, b), a, b) }
}

/// `a < b ? a : b` per lane (`b` when unordered).
#[inline(always)]
pub fn vmin_x86(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vbslq_f32(vcltq_f32(a, b), a, b) }
}

/// `acc + Σₜ x[t]·w[t]` per `i32` lane over its 4 bytes (u8 activations `x`, s8 weights `w`),
/// without the dot-product extension: both widened to 16 bits (every u8 × s8 product fits
/// `i16`), multiplied exactly, and pairwise-added; wrapping like `sdot`/`vpdpbusd`.
#[inline(always)]
pub fn dot4_widen(acc: int32x4_t, x: uint8x16_t, w: int8x16_t) -> int32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let xl = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x)));
        let xh = vreinterpretq_s16_u16(vmovl_high_u8(x));
        let pl = vmulq_s16(xl, vmovl_s8(vget_low_s8(w)));
        let ph = vmulq_s16(xh, vmovl_high_s8(w));
        vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(pl), vpaddlq_s16(ph)))
    }
}

/// Interleaves the bytes of the low halves of `a` and `b`.
#[inline(always)]
pub fn zip1_u8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vzip1q_u8(a, b) }
}

/// Interleaves the bytes of the high halves of `a` and `b`.
#[inline(always)]
pub fn zip2_u8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vzip2q_u8(a, b) }
}

/// Interleaves the 16-bit pairs of the low halves of `a` and `b`.
#[inline(always)]
pub fn zip1_u16(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vreinterpretq_u8_u16(vzip1q_u16(vreinterpretq_u16_u8(a), vreinterpretq_u16_u8(b))) }
}

/// Interleaves the 16-bit pairs of the high halves of `a` and `b`.
#[inline(always)]
pub fn zip2_u16(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vreinterpretq_u8_u16(vzip2q_u16(vreinterpretq_u16_u8(a), vreinterpretq_u16_u8(b))) }
}

/// The 16 lanes of `o0..o3` (each in `0..=255`) as bytes, in that order.
#[inline(always)]
pub fn pack4_u8(o0: int32x4_t, o1: int32x4_t, o2: int32x4_t, o3: int32x4_t) -> uint8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let lo = vcombine_u16(vqmovun_s32(o0), vqmovun_s32(o1));
        let hi = vcombine_u16(vqmovun_s32(o2), vqmovun_s32(o3));
        vcombine_u8(vqmovn_u16(lo), vqmovn_u16(hi))
    }
}

/// The first `n < 16` bytes at `p`, the other lanes zero; nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` bytes.
#[inline(always)]
pub unsafe fn load_bytes_partial(p: *const u8, n: usize) -> uint8x16_t {
    // SAFETY: the caller vouches for `n` readable bytes; the array holds 16.
    unsafe { vld1q_u8(read_prefix::<u8, 16>(p, n).as_ptr()) }
}

/// Stores the first `n < 16` bytes of `v` at `p`; nothing past them is written.
///
/// # Safety
/// `p` must be valid for writing `n` bytes.
#[inline(always)]
pub unsafe fn store_bytes_partial(p: *mut u8, n: usize, v: uint8x16_t) {
    let mut buf = [0u8; 16];
    // SAFETY: `buf` holds 16 bytes; the caller vouches for `n` writable bytes at `p`.
    unsafe {
        vst1q_u8(buf.as_mut_ptr(), v);
        write_prefix(buf, p, n);
    }
}

/// The first `n ≤ 4` bytes at `p` zero-extended to `i32` lanes, the other lanes zero;
/// nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` bytes.
#[inline(always)]
pub unsafe fn load_u8x4(p: *const u8, n: usize) -> int32x4_t {
    // SAFETY: the caller vouches for `n` readable bytes.
    let bytes = unsafe { tail_u32(p, n) };
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let b = vcreate_u8(u64::from(bytes));
        vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(b))))
    }
}

/// Stores the first `n ≤ 4` lanes of `v` (each in `0..=255`) as bytes at `p`; nothing past
/// them is written.
///
/// # Safety
/// `p` must be valid for writing `n` bytes.
#[inline(always)]
pub unsafe fn store_u8x4(p: *mut u8, n: usize, v: int32x4_t) {
    // SAFETY: NEON is part of the aarch64 baseline.
    let bytes = unsafe {
        let h = vqmovun_s32(v);
        let b = vqmovn_u16(vcombine_u16(h, h));
        vget_lane_u32::<0>(vreinterpret_u32_u8(b))
    };
    // SAFETY: the caller vouches for `n ≤ 4` writable bytes at `p`.
    unsafe { write_prefix(bytes.to_le_bytes(), p, n) };
}
