//! NEON helpers the generated aarch64 kernels call: partial (tail) loads and stores, which
//! NEON has no masked form of, and `max`/`min` with the x86 NaN rule the kernels are specified
//! with (the second operand when unordered, so `max(0, NaN)` is NaN like `maxps`).

use core::arch::aarch64::*;

/// The first `n ≤ 4` floats at `p`, the other lanes zero; nothing past them is read.
///
/// # Safety
/// `p` must be valid for reading `n` floats.
#[inline(always)]
pub unsafe fn load_partial(p: *const f32, n: usize) -> float32x4_t {
    let mut buf = [0f32; 4];
    // SAFETY: the caller vouches for `n ≤ 4` readable floats; `buf` holds 4.
    unsafe {
        core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n.min(4));
        vld1q_f32(buf.as_ptr())
    }
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
        core::ptr::copy_nonoverlapping(buf.as_ptr(), p, n.min(4));
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
