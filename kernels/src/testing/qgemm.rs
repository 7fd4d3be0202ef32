//! INT8 GEMM kernels against [`crate::reference::qgemm`]: bit-exact.

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all};
use crate::pack::{self, QuantWeights};
use crate::quant::{HardSwish, QuantOut};
use crate::reference;
use crate::ukernels::{QgemmArgs, QgemmTile, QgemmUkernel};

/// How a problem's bytes are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data {
    /// Uniform bytes and weights, log-uniform requantization scales.
    Random,
    /// Activations 255 against weights −128 and 127: the 16-bit saturation hazard of
    /// `vpmaddubsw`, and the largest accumulators.
    Extremes,
    /// Small values and power-of-two scales, so many results land exactly on a rounding tie.
    Ties,
}

/// One INT8 GEMM kernel call: `m ≤ MR` rows with padded strides.
#[derive(Clone, Debug)]
pub struct QgemmProblem {
    /// Rows (1..=MR).
    pub m: usize,
    /// Columns.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// Extra bytes between rows of A.
    pub a_pad: usize,
    /// Extra bytes between rows of C.
    pub c_pad: usize,
    /// Byte offset of every buffer (misalignment).
    pub offset: usize,
    /// Input zero point.
    pub zx: u8,
    /// Output quantization (zero point and clamp).
    pub out: QuantOut,
    /// How the data is drawn.
    pub data: Data,
    /// Data seed.
    pub seed: u64,
}

impl QgemmProblem {
    /// Runs `uk` on this problem and compares with the reference, byte for byte.
    pub fn check(&self, uk: &QgemmUkernel) -> Result<(), String> {
        let QgemmProblem { m, n, k, .. } = *self;
        let (a_stride, c_stride) = (k + self.a_pad, n + self.c_pad);
        let a_len = (m - 1) * a_stride + k;
        let (a, w, bias, requant) = quant_data(self.data, self.seed, a_len, n, k);
        let q = QuantWeights {
            outputs: n,
            taps: k,
            weights: &w,
            bias: &bias,
            scale: &requant,
            input_zero_point: self.zx,
        };
        let a = Buf::new(&a, self.offset);
        let packed = Buf::new(
            &pack::qgemm(&q, uk.tile).map_err(|e| e.to_string())?,
            self.offset,
        );
        let mut c = Guarded::<u8>::new((m - 1) * c_stride + n, self.offset);
        let args = QgemmArgs {
            m,
            n,
            k,
            a: a.ptr(),
            a_stride,
            w: packed.ptr(),
            c: c.ptr(),
            c_stride,
            out_zero_point: self.out.zero_point.into(),
            out_min: self.out.min.into(),
            out_max: self.out.max.into(),
            hswish: self.out.hswish,
        };
        // SAFETY: buffers sized per the `QgemmArgs` contract above; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        c.check(|i| i % c_stride >= n)?;
        let want = reference::qgemm(m, a.as_slice(), a_stride, &q, self.out);
        let got: Vec<u8> = (0..m)
            .flat_map(|i| c.region()[i * c_stride..i * c_stride + n].to_vec())
            .collect();
        compare_bytes(&want, &got, n)
    }
}

/// Data for a quantized layer with `channels` outputs of `taps` weights each: `a_len`
/// activation bytes, weights, biases and requantization multipliers, drawn as `data` says.
pub fn quant_data(
    data: Data,
    seed: u64,
    a_len: usize,
    channels: usize,
    taps: usize,
) -> (Vec<u8>, Vec<i8>, Vec<i32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let mut int = |lo: i32, hi: i32| {
        (lo + ((rng.f32(1.0) + 1.0) * 0.5 * (hi - lo + 1) as f32) as i32).min(hi)
    };
    let scale = |e: f64| 2f64.powf(e) as f32;
    let n_w = channels * taps;
    match data {
        Data::Random => (
            (0..a_len).map(|_| int(0, 255) as u8).collect(),
            (0..n_w).map(|_| int(-128, 127) as i8).collect(),
            (0..channels).map(|_| int(-1 << 20, 1 << 20)).collect(),
            (0..channels)
                .map(|_| scale(4.0 - 21.0 * f64::from(int(0, 1000)) / 1000.0))
                .collect(),
        ),
        Data::Extremes => (
            (0..a_len)
                .map(|i| if i % 7 == 3 { 0 } else { 255 })
                .collect(),
            (0..n_w)
                .map(|i| if (i / 3) % 2 == 0 { -128 } else { 127 })
                .collect(),
            (0..channels)
                .map(|c| if c % 2 == 0 { i32::MAX / 4 } else { -(1 << 24) })
                .collect(),
            (0..channels)
                .map(|c| scale(-12.0 - (c % 12) as f64))
                .collect(),
        ),
        Data::Ties => (
            (0..a_len).map(|_| int(0, 9) as u8).collect(),
            (0..n_w).map(|_| int(-3, 3) as i8).collect(),
            (0..channels).map(|_| int(-8, 8)).collect(),
            (0..channels)
                .map(|c| scale(-3.0 - (c % 5) as f64))
                .collect(),
        ),
    }
}

/// Byte-exact comparison of a kernel's `got` with the reference's `want` (rows of `n`).
pub fn compare_bytes(want: &[u8], got: &[u8], n: usize) -> Result<(), String> {
    match (0..want.len()).find(|&i| want[i] != got[i]) {
        None => Ok(()),
        Some(i) => Err(format!(
            "row {} column {}: got {}, want {} ({} of {} outputs differ)",
            i / n,
            i % n,
            got[i],
            want[i],
            (0..want.len()).filter(|&j| want[j] != got[j]).count(),
            want.len()
        )),
    }
}

/// Fixed cases: exact panel multiples, one-off tails, reduction tails, extremes and ties.
pub fn edge_cases(t: QgemmTile) -> Vec<QgemmProblem> {
    let base = QgemmProblem {
        m: 1,
        n: 1,
        k: 1,
        a_pad: 0,
        c_pad: 0,
        offset: 0,
        zx: 128,
        out: QuantOut::linear(128),
        data: Data::Random,
        seed: 11,
    };
    let mut out = Vec::new();
    for m in [1, t.mr] {
        for n in [1, t.nr - 1, t.nr, t.nr + 1, 2 * t.nr + 3] {
            for k in [1, 3, 4, 17] {
                out.push(QgemmProblem {
                    m,
                    n: n.max(1),
                    k,
                    offset: (m + n + k) % 4,
                    ..base.clone()
                });
            }
        }
    }
    for data in [Data::Extremes, Data::Ties] {
        for zx in [0, 255] {
            out.push(QgemmProblem {
                m: t.mr,
                n: 2 * t.nr + 1,
                k: 967,
                zx,
                out: QuantOut {
                    zero_point: 3,
                    min: 3,
                    max: 250,
                    hswish: HardSwish::OFF,
                },
                data,
                ..base.clone()
            });
        }
    }
    out
}

/// Random output quantizations: a clamp, or (1 in 3) a fused hard-swish over the full range
/// with a slope log-uniform or a power of two (exact ties).
pub fn quant_out() -> impl Strategy<Value = QuantOut> {
    let clamp = (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(zero_point, lo, hi)| QuantOut {
        zero_point,
        min: lo.min(hi),
        max: lo.max(hi),
        hswish: HardSwish::OFF,
    });
    let slope = prop_oneof![
        (-14.0f32..0.0).prop_map(f32::exp2),
        (-14i32..0).prop_map(|e| 2f32.powi(e))
    ];
    let hswish = (any::<u8>(), slope).prop_map(|(zero_point, slope)| {
        let hs = HardSwish {
            enabled: true,
            slope,
        };
        QuantOut::hard_swish(zero_point, hs)
    });
    prop_oneof![2 => clamp, 1 => hswish]
}

/// Random problems for tile `t`.
pub fn strategy(t: QgemmTile) -> impl Strategy<Value = QgemmProblem> {
    let data =
        prop_oneof![3 => Just(Data::Random), 1 => Just(Data::Extremes), 1 => Just(Data::Ties)];
    (
        (
            1..=t.mr,
            1..=3 * t.nr,
            1usize..80,
            0usize..5,
            0usize..5,
            0usize..8,
        ),
        (any::<u8>(), quant_out()),
        data,
        any::<u64>(),
    )
        .prop_map(
            |((m, n, k, a_pad, c_pad, offset), (zx, out), data, seed)| QgemmProblem {
                m,
                n,
                k,
                a_pad,
                c_pad,
                offset,
                zx,
                out,
                data,
                seed,
            },
        )
}

/// The generated test of one INT8 GEMM variant.
pub fn check_variant(uk: &'static QgemmUkernel) {
    check_all(uk.id, uk.isa, edge_cases(uk.tile), strategy(uk.tile), |p| {
        p.check(uk)
    });
}
