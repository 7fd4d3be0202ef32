//! Tails without masks: the first `n` elements of a buffer copied into (or out of) a full
//! register-sized array, so a vector load or store of the array never touches memory past
//! them. Every ISA whose tail lanes cannot be masked (scalar INT8, AVX2 bytes, NEON,
//! SIMD128) goes through these two.

/// The first `n ≤ N` elements at `p` in an array, the rest `T::default()`; nothing past them
/// is read.
///
/// # Safety
/// `p` must be valid for reading `n` elements.
#[inline(always)]
pub unsafe fn read_prefix<T: Copy + Default, const N: usize>(p: *const T, n: usize) -> [T; N] {
    let mut buf = [T::default(); N];
    // SAFETY: the caller vouches for `n` readable elements; `buf` holds `N ≥ n.min(N)`.
    unsafe { core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n.min(N)) };
    buf
}

/// Writes the first `n ≤ N` elements of `v` to `p`; nothing past them is written.
///
/// # Safety
/// `p` must be valid for writing `n` elements.
#[inline(always)]
pub unsafe fn write_prefix<T: Copy, const N: usize>(v: [T; N], p: *mut T, n: usize) {
    // SAFETY: the caller vouches for `n` writable elements; `v` holds `N ≥ n.min(N)`.
    unsafe { core::ptr::copy_nonoverlapping(v.as_ptr(), p, n.min(N)) };
}
