//! Winograd F(2x2, 3x3) in exact (f64) arithmetic, carrying with every value the magnitude
//! of the same computation on absolute values: the bound that f32 rounding error is measured
//! against (see the module docs of [`crate::ops::winograd`]).
//!
//! Only nonzero coefficients contribute, exactly as in the generated kernels, so NaN flows
//! the same way.

use super::Acc;

/// Bᵀ: `V = Bᵀ·d·B`.
pub const BT: [[f64; 4]; 4] = [
    [1.0, 0.0, -1.0, 0.0],
    [0.0, 1.0, 1.0, 0.0],
    [0.0, -1.0, 1.0, 0.0],
    [0.0, 1.0, 0.0, -1.0],
];
/// G: `U = G·g·Gᵀ`.
pub const G: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];
/// Aᵀ: `Y = Aᵀ·M·A`.
pub const AT: [[f64; 4]; 2] = [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]];

/// `T·X·Tᵀ` for an `M×R` matrix `T` over exact values with magnitudes.
pub fn separable<const M: usize, const R: usize>(
    t: &[[f64; R]; M],
    x: &[[Acc; R]; R],
) -> [[Acc; M]; M] {
    let mut out = [[Acc::default(); M]; M];
    for (a, ta) in t.iter().enumerate() {
        for (b, tb) in t.iter().enumerate() {
            let mut acc = Acc::default();
            for (k, &ck) in ta.iter().enumerate() {
                for (l, &cl) in tb.iter().enumerate() {
                    let c = ck * cl;
                    if c != 0.0 {
                        acc.sum += c * x[k][l].sum;
                        acc.mag += c.abs() * x[k][l].mag;
                    }
                }
            }
            out[a][b] = acc;
        }
    }
    out
}

/// Exact values as `Acc`s (magnitude = |value|).
pub fn exact<const R: usize>(x: [[f32; R]; R]) -> [[Acc; R]; R] {
    x.map(|row| {
        row.map(|v| {
            let v = f64::from(v);
            Acc {
                sum: v,
                mag: v.abs(),
            }
        })
    })
}

/// For every output of a stride-1 3x3 convolution (NHWC, weights OIHW, zero padding), the
/// magnitude `Σ |Aᵀ|·(|G|·|g|·|Gᵀ| ⊙ |Bᵀ|·|d|·|B|)·|A|` of its Winograd F(2x2, 3x3)
/// computation (bias and residual not included): what its rounding error is bounded by.
pub fn magnitudes(
    input: &[f32],
    shape: crate::ops::Nhwc,
    weights: &[f32],
    cout: usize,
    pad: crate::ops::Padding,
) -> Vec<f64> {
    let (h, w, cin) = (shape.h, shape.w, shape.c);
    let oh = h + pad.top + pad.bottom - 2;
    let ow = w + pad.left + pad.right - 2;
    let u: Vec<[[Acc; 4]; 4]> = weights
        .chunks_exact(9)
        .map(|g| {
            separable(
                &G,
                &exact(std::array::from_fn(|i| {
                    std::array::from_fn(|j| g[3 * i + j])
                })),
            )
        })
        .collect();
    let mut out = vec![0.0; shape.n * oh * ow * cout];
    for b in 0..shape.n {
        for ty in 0..oh.div_ceil(2) {
            for tx in 0..ow.div_ceil(2) {
                let v: Vec<[[Acc; 4]; 4]> = (0..cin)
                    .map(|ci| {
                        let d = std::array::from_fn(|i| {
                            std::array::from_fn(|j| {
                                let iy = (2 * ty + i).checked_sub(pad.top).filter(|&y| y < h);
                                let ix = (2 * tx + j).checked_sub(pad.left).filter(|&x| x < w);
                                match (iy, ix) {
                                    (Some(y), Some(x)) => input[((b * h + y) * w + x) * cin + ci],
                                    _ => 0.0,
                                }
                            })
                        });
                        separable(&BT, &exact(d))
                    })
                    .collect();
                for co in 0..cout {
                    let mut m = [[Acc::default(); 4]; 4];
                    for (ci, vc) in v.iter().enumerate() {
                        let uc = &u[co * cin + ci];
                        for a in 0..4 {
                            for bb in 0..4 {
                                m[a][bb].mag += uc[a][bb].mag * vc[a][bb].mag;
                            }
                        }
                    }
                    let y = separable(&AT, &m);
                    for (i, row) in y.iter().enumerate() {
                        for (j, acc) in row.iter().enumerate() {
                            let (oy, ox) = (2 * ty + i, 2 * tx + j);
                            if oy < oh && ox < ow {
                                out[((b * oh + oy) * ow + ox) * cout + co] = acc.mag;
                            }
                        }
                    }
                }
            }
        }
    }
    out
}
