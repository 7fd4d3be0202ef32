//! GEMM kernels against [`crate::reference::gemm`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, input_values, scale_strategy};
use crate::reference;
use crate::ukernels::{GemmArgs, GemmTile, GemmUkernel};

/// One GEMM kernel call: `m ≤ MR` rows with padded strides.
#[derive(Clone, Debug)]
pub struct GemmProblem {
    /// Rows (1..=MR).
    pub m: usize,
    /// Columns.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// Extra floats between rows of A.
    pub a_pad: usize,
    /// Extra floats between rows of C (and R).
    pub c_pad: usize,
    /// Element offset of every buffer (misalignment).
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN at `A[0][0]`.
    pub poison: bool,
}

impl GemmProblem {
    /// Runs `uk` on this problem and compares with the reference.
    pub fn check(&self, uk: &GemmUkernel) -> Result<(), String> {
        let GemmProblem { m, n, k, .. } = *self;
        let (a_stride, c_stride) = (k + self.a_pad, n + self.c_pad);
        let mut rng = Rng::new(self.seed);
        let a = Buf::new(
            &input_values(&mut rng, (m - 1) * a_stride + k, self.scale, self.poison),
            self.offset,
        );
        let w = rng.vec(n * k, 1.0);
        let bias = rng.vec(n, self.scale);
        let packed = Buf::new(
            &crate::pack::gemm(&w, Some(&bias), n, k, uk.tile.nr).map_err(|e| e.to_string())?,
            self.offset,
        );
        let r_len = (m - 1) * c_stride + n;
        let r = Buf::new(&rng.vec(r_len, self.scale), self.offset);
        let mut c = Guarded::new(r_len, self.offset);
        let args = GemmArgs {
            m,
            n,
            k,
            a: a.ptr(),
            a_stride,
            w: packed.ptr(),
            c: c.ptr(),
            c_stride,
            r: if uk.tile.residual {
                r.ptr()
            } else {
                std::ptr::null()
            },
            r_stride: c_stride,
        };
        // SAFETY: buffers sized per the `GemmArgs` contract above; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        c.check(|i| i % c_stride >= n)?;
        let rows = |buf: &[f32]| -> Vec<f32> {
            (0..m)
                .flat_map(|i| buf[i * c_stride..i * c_stride + n].to_vec())
                .collect()
        };
        let residual = uk.tile.residual.then(|| rows(r.as_slice()));
        let want = reference::gemm(
            m,
            n,
            k,
            a.as_slice(),
            a_stride,
            &w,
            Some(&bias),
            residual.as_deref(),
            uk.act,
        );
        want.check(&rows(c.region()), n)
    }
}

/// Fixed cases: exact panel multiples, one-off tails, one row and full tiles, poison.
pub fn edge_cases(t: GemmTile) -> Vec<GemmProblem> {
    let base = GemmProblem {
        m: 1,
        n: 1,
        k: 1,
        a_pad: 0,
        c_pad: 0,
        offset: 0,
        scale: 1.0,
        seed: 7,
        poison: false,
    };
    let mut out = Vec::new();
    for m in [1, t.mr] {
        for n in [1, t.nr - 1, t.nr, t.nr + 1, 2 * t.nr + 3] {
            for k in [1, 17] {
                out.push(GemmProblem {
                    m,
                    n: n.max(1),
                    k,
                    offset: (m + n) % 4,
                    ..base.clone()
                });
            }
        }
    }
    out.push(GemmProblem {
        m: t.mr,
        n: t.nr + 1,
        k: 5,
        poison: true,
        ..base.clone()
    });
    out.push(GemmProblem {
        m: t.mr,
        n: 2 * t.nr,
        k: 9,
        a_pad: 3,
        c_pad: 5,
        scale: 20.0,
        ..base
    });
    out
}

/// Random problems for tile `t`.
pub fn strategy(t: GemmTile) -> impl Strategy<Value = GemmProblem> {
    (
        1..=t.mr,
        1..=3 * t.nr,
        1usize..48,
        0usize..3,
        0usize..3,
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(m, n, k, a_pad, c_pad, offset, scale, seed, poison)| GemmProblem {
                m,
                n,
                k,
                a_pad,
                c_pad,
                offset,
                scale,
                seed,
                poison,
            },
        )
}

/// The generated test of one GEMM variant.
pub fn check_variant(uk: &'static GemmUkernel) {
    check_all(uk.id, uk.isa, edge_cases(uk.tile), strategy(uk.tile), |p| {
        p.check(uk)
    });
}
