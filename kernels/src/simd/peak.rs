//! Measures this core's f32 FMA peak (the denominator of every "% of peak" we report):
//! twelve independent FMA chains per ISA, long enough to hide latency, timed in a loop.

use std::time::Instant;

use crate::isa::{self, Isa};

/// Sustained single-thread f32 GFLOP/s of fused multiply-adds at `level` over about
/// `iters·12` vector FMAs, or `None` if the CPU lacks `level` (or it has no FMA kernel here).
/// The VNNI levels report the f32 peak of their vector width.
pub fn fma_peak_gflops(level: Isa, iters: u64) -> Option<f64> {
    if !isa::detected().contains(level) {
        return None;
    }
    let start = Instant::now();
    let lanes = chains(level, iters)?;
    let secs = start.elapsed().as_secs_f64();
    Some((iters * 12 * lanes * 2) as f64 / secs / 1e9)
}

/// Runs the FMA chains of `level` (`iters` rounds) and returns its f32 lanes, if it has a
/// probe here.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn chains(level: Isa, iters: u64) -> Option<u64> {
    match level {
        // SAFETY: the caller checked that the CPU supports `level`.
        Isa::Avx2Fma | Isa::AvxVnni => Some(unsafe { x86::chains_avx2(iters) }),
        // SAFETY: as above.
        Isa::Avx512F | Isa::Avx512Vnni => Some(unsafe { x86::chains_avx512(iters) }),
        _ => None,
    }
}

/// No probe off x86.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn chains(_level: Isa, _iters: u64) -> Option<u64> {
    None
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::*;

    macro_rules! chains {
        ($name:ident, $feat:literal, $ty:ty, $lanes:literal, $set1:ident, $fma:ident, $store:ident) => {
            #[target_feature(enable = $feat)]
            pub unsafe fn $name(iters: u64) -> u64 {
                let mut acc: [$ty; 12] = [$set1(0.0); 12];
                let (b, c) = ($set1(0.999_999), $set1(1e-7));
                for _ in 0..iters {
                    for a in acc.iter_mut() {
                        *a = $fma(*a, b, c);
                    }
                }
                let mut out = [0.0f32; $lanes];
                for a in acc {
                    // SAFETY: `out` holds exactly one vector.
                    unsafe { $store(out.as_mut_ptr(), a) };
                    std::hint::black_box(out);
                }
                $lanes
            }
        };
    }
    chains!(
        chains_avx2,
        "avx2,fma",
        __m256,
        8,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_storeu_ps
    );
    chains!(
        chains_avx512,
        "avx512f",
        __m512,
        16,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_storeu_ps
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn measures_something_positive_or_nothing() {
        for level in crate::Isa::ALL {
            if let Some(g) = super::fma_peak_gflops(level, 100_000) {
                assert!(g.is_finite() && g > 0.1, "{level}: {g}");
            }
        }
    }
}
