//! The two float types losses run in: `f32` (products on the GEMM micro-kernels) and `f64`
//! (plain loops; what the finite-difference tests differentiate).

use ruvector_cnn_kernels::ops::{Linear, LinearDesc};
use ruvector_cnn_kernels::{Activation, KernelTable};

use crate::error::{OpContext, Result};

/// A float type a loss is computed in.
pub trait Real: Copy + Default + PartialOrd + std::fmt::Debug + Send + Sync + 'static {
    /// From an `f64` (rounded).
    fn of(v: f64) -> Self;
    /// To `f64` (exact).
    fn f64(self) -> f64;

    /// `out[i·n + j] = Σₖ a[i·k + ·]·b[j·k + ·]` for `m` rows of `a` and `n` rows of `b`
    /// (`A·Bᵀ`), each `k` long.
    fn gemm_nt(
        a: &[Self],
        m: usize,
        b: &[Self],
        n: usize,
        k: usize,
        out: &mut [Self],
    ) -> Result<()>;
}

impl Real for f64 {
    fn of(v: f64) -> Self {
        v
    }

    fn f64(self) -> f64 {
        self
    }

    fn gemm_nt(a: &[f64], m: usize, b: &[f64], n: usize, k: usize, out: &mut [f64]) -> Result<()> {
        for i in 0..m {
            let ai = &a[i * k..(i + 1) * k];
            for j in 0..n {
                let bj = &b[j * k..(j + 1) * k];
                out[i * n + j] = ai.iter().zip(bj).map(|(x, y)| x * y).sum();
            }
        }
        Ok(())
    }
}

impl Real for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }

    fn f64(self) -> f64 {
        f64::from(self)
    }

    fn gemm_nt(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32]) -> Result<()> {
        // `b` as the weights of a Linear layer applied to the rows of `a`.
        let desc = LinearDesc {
            in_features: k,
            out_features: n,
            weights: &b[..n * k],
            bias: None,
            activation: Activation::Linear,
        };
        let op = Linear::new(&desc, KernelTable::best()).layer("contrastive gemm")?;
        op.run(m, &a[..m * k], &mut out[..m * n])
            .layer("contrastive gemm")
    }
}
