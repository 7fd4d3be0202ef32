//! INT8 depthwise kernels against [`crate::reference::qdwconv`]: bit-exact.

use proptest::prelude::*;

use super::qgemm::{Data, compare_bytes, quant_data};
use super::{Buf, Guarded, check_all, fit_padding};
use crate::ops::Padding;
use crate::pack::{self, QuantWeights};
use crate::quant::{HardSwish, QuantOut};
use crate::reference;
use crate::ukernels::{QdwconvArgs, QdwconvTile, QdwconvUkernel};

/// One INT8 depthwise kernel call on one image.
#[derive(Clone, Debug)]
pub struct QdwconvProblem {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Zero padding (each side < K; bottom/right raised if the image is smaller than K).
    pub pad: Padding,
    /// Byte offset of every buffer.
    pub offset: usize,
    /// Input zero point.
    pub zx: u8,
    /// Output quantization.
    pub out: QuantOut,
    /// How the data is drawn.
    pub data: Data,
    /// Data seed.
    pub seed: u64,
}

impl QdwconvProblem {
    /// Runs `uk` on this problem and compares with the reference, byte for byte.
    pub fn check(&self, uk: &QdwconvUkernel) -> Result<(), String> {
        let (k, s, c) = (uk.tile.k, uk.tile.s, self.c);
        let (x, w, bias, requant) = quant_data(self.data, self.seed, self.h * self.w * c, c, k * k);
        let q = QuantWeights {
            outputs: c,
            taps: k * k,
            weights: &w,
            bias: &bias,
            scale: &requant,
            input_zero_point: self.zx,
        };
        let (want, oh, ow) = reference::qdwconv(&x, self.h, self.w, (k, s), self.pad, &q, self.out);
        let x = Buf::new(&x, self.offset);
        let packed = Buf::new(
            &pack::qdwconv(&q, uk.tile).map_err(|e| e.to_string())?,
            self.offset,
        );
        let mut y = Guarded::<u8>::new(want.len(), self.offset);
        let args = QdwconvArgs {
            input: x.ptr(),
            in_h: self.h,
            in_w: self.w,
            channels: c,
            w: packed.ptr(),
            output: y.ptr(),
            out_h: oh,
            out_w: ow,
            pad_top: self.pad.top,
            pad_left: self.pad.left,
            input_zero_point: self.zx.into(),
            out_zero_point: self.out.zero_point.into(),
            out_min: self.out.min.into(),
            out_max: self.out.max.into(),
            hswish: self.out.hswish,
        };
        // SAFETY: buffers sized per the `QdwconvArgs` contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        compare_bytes(&want, y.region(), c)
    }
}

/// Fixed cases: channel tails around the block, images smaller than the window, extremes
/// and ties.
pub fn edge_cases(t: QdwconvTile) -> Vec<QdwconvProblem> {
    let k = t.k;
    let base = QdwconvProblem {
        h: 7,
        w: 9,
        c: 1,
        pad: Padding::same(k / 2),
        offset: 0,
        zx: 131,
        out: QuantOut::linear(127),
        data: Data::Random,
        seed: 5,
    };
    let mut out = Vec::new();
    for c in [1, t.cb - 1, t.cb, t.cb + 1, 2 * t.cb + 3] {
        out.push(QdwconvProblem {
            c: c.max(1),
            offset: c % 4,
            ..base.clone()
        });
    }
    for data in [Data::Extremes, Data::Ties] {
        out.push(QdwconvProblem {
            c: t.cb + 3,
            zx: 255,
            out: QuantOut {
                zero_point: 9,
                min: 9,
                max: 200,
                hswish: HardSwish::OFF,
            },
            data,
            ..base.clone()
        });
    }
    out.push(QdwconvProblem {
        h: 1,
        w: 2,
        c: 5,
        pad: fit_padding(1, 2, (k, k), Padding::same(0)),
        ..base
    });
    out
}

/// Random problems for tile `t`.
pub fn strategy(t: QdwconvTile) -> impl Strategy<Value = QdwconvProblem> {
    let k = t.k;
    let data =
        prop_oneof![3 => Just(Data::Random), 1 => Just(Data::Extremes), 1 => Just(Data::Ties)];
    (
        (1usize..12, 1usize..14, 1..=3 * t.cb),
        [0..k, 0..k, 0..k, 0..k],
        (0usize..8, any::<u8>(), super::qgemm::quant_out()),
        data,
        any::<u64>(),
    )
        .prop_map(
            move |((h, w, c), [top, left, bottom, right], (offset, zx, out), data, seed)| {
                let pad = Padding {
                    top,
                    left,
                    bottom,
                    right,
                };
                QdwconvProblem {
                    h,
                    w,
                    c,
                    pad: fit_padding(h, w, (k, k), pad),
                    offset,
                    zx,
                    out,
                    data,
                    seed,
                }
            },
        )
}

/// The generated test of one INT8 depthwise variant.
pub fn check_variant(uk: &'static QdwconvUkernel) {
    check_all(uk.id, uk.isa, edge_cases(uk.tile), strategy(uk.tile), |p| {
        p.check(uk)
    });
}
