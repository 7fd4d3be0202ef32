//! Quantized depthwise KxK convolution (K = 3 or 5, stride 1 or 2, zero padding) over NHWC
//! u8 tensors (see [`crate::quant`] for the scheme).

use super::error::{Error, Result};
use super::pick_block;
use super::shape::{Nhwc, Padding, RowWindow, check_input, check_window, row_op, window_output};
use crate::KernelTable;
use crate::pack::{self, QuantWeights};
use crate::quant::QuantOut;
use crate::ukernels::{QdwconvArgs, QdwconvUkernel};

/// Describes a quantized depthwise convolution (`weights.outputs` channels, `weights.taps`
/// = `kernel`² taps each).
#[derive(Clone, Copy, Debug)]
pub struct QuantDepthwiseDesc<'a> {
    /// Weights, bias, requantization and the input zero point.
    pub weights: QuantWeights<'a>,
    /// Window size K (3 or 5).
    pub kernel: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Zero padding (real zeros: the input zero point); each side must be smaller than K.
    pub padding: Padding,
    /// Output zero point and clamp (a fused ReLU/ReLU6).
    pub out: QuantOut,
}

/// A quantized depthwise convolution with packed weights and its chosen kernel.
pub struct QuantDepthwise {
    channels: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    input_zero_point: u8,
    out: QuantOut,
    packed: Vec<u8>,
    uk: &'static QdwconvUkernel,
}

impl QuantDepthwise {
    /// Validates `desc`, packs the weights and picks the kernel from `table`.
    pub fn new(desc: &QuantDepthwiseDesc<'_>, table: &KernelTable) -> Result<Self> {
        let q = &desc.weights;
        q.validate()?;
        let (k, s) = (desc.kernel, desc.stride);
        check_window(k, k, s, s, desc.padding)?;
        desc.out.validate()?;
        let uk = pick_block(table.qdwconv(k, s), q.outputs, |u| u.tile.cb).ok_or_else(|| {
            Error::Unsupported(format!(
                "quantized depthwise {k}x{k} stride {s} (kernels exist for 3x3 and 5x5 at stride 1 and 2)"
            ))
        })?;
        let packed = pack::qdwconv(q, uk.tile)?;
        Ok(QuantDepthwise {
            channels: q.outputs,
            kernel: k,
            stride: s,
            padding: desc.padding,
            input_zero_point: q.input_zero_point,
            out: desc.out,
            packed,
            uk,
        })
    }

    /// The output shape for `input`.
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.channels)?;
        let (k, s) = (self.kernel, self.stride);
        window_output(input, k, k, s, s, self.padding, self.channels)
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }
}

row_op!(QuantDepthwise, u8);

impl QuantDepthwise {
    /// The kernel call for the output rows of `window` (validated by the callers) of one
    /// image.
    fn call_kernel(
        &self,
        input_shape: Nhwc,
        x: *const u8,
        y: *mut u8,
        window: RowWindow,
        out: Nhwc,
    ) {
        let RowWindow {
            skip,
            pad_top,
            in_h,
            out_h,
        } = window;
        let args = QdwconvArgs {
            input: x.wrapping_add(skip * input_shape.w * self.channels),
            in_h,
            in_w: input_shape.w,
            channels: self.channels,
            w: self.packed.as_ptr(),
            output: y,
            out_h,
            out_w: out.w,
            pad_top,
            pad_left: self.padding.left,
            input_zero_point: self.input_zero_point.into(),
            out_zero_point: self.out.zero_point.into(),
            out_min: self.out.min.into(),
            out_max: self.out.max.into(),
            hswish: self.out.hswish,
        };
        // SAFETY: callers checked that `x` holds the image and `y` the requested output rows;
        // `row_window` keeps the shifted input inside the image and every requested row's
        // window overlapping it (padding < K, checked at creation); `packed` was built by
        // `pack::qdwconv` for this kernel's tile with this input zero point; the clamp is
        // within 0..=255; the kernel's ISA is in the table the op came from.
        unsafe { (self.uk.func)(&args) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::HardSwish;

    #[test]
    fn matches_the_reference_at_every_level_and_rejects_bad_input() {
        let (c, k, h, w) = (21, 3, 9, 11);
        let wts: Vec<i8> = (0..c * k * k)
            .map(|i| (i * 53 % 255) as i32 as i8)
            .collect();
        let bias: Vec<i32> = (0..c as i32).map(|ch| ch * 40 - 400).collect();
        let rq = vec![(1.0 / 700.0) as f32; c];
        let weights = QuantWeights {
            outputs: c,
            taps: k * k,
            weights: &wts,
            bias: &bias,
            scale: &rq,
            input_zero_point: 90,
        };
        let desc = QuantDepthwiseDesc {
            weights,
            kernel: k,
            stride: 2,
            padding: Padding::same(1),
            out: QuantOut {
                zero_point: 100,
                min: 100,
                max: 255,
                hswish: HardSwish::OFF,
            },
        };
        let x: Vec<u8> = (0..2 * h * w * c).map(|i| (i * 29 % 256) as u8).collect();
        let img = h * w * c;
        let shape = Nhwc::new(2, h, w, c);
        for level in crate::isa::available().iter() {
            let t = KernelTable::with_isa(crate::IsaSet::up_to(level));
            let op = QuantDepthwise::new(&desc, &t).unwrap();
            let out = op.output_shape(shape).unwrap();
            let mut y = vec![0u8; out.len().unwrap()];
            op.run(shape, &x, &mut y).unwrap();
            for b in 0..2 {
                let (want, oh, ow) = crate::reference::qdwconv(
                    &x[b * img..(b + 1) * img],
                    h,
                    w,
                    (k, 2),
                    desc.padding,
                    &weights,
                    desc.out,
                );
                assert_eq!((oh, ow), (out.h, out.w));
                assert_eq!(
                    &y[b * want.len()..(b + 1) * want.len()],
                    &want[..],
                    "{}",
                    op.kernel_id()
                );
            }
            assert!(op.run(shape, &x[1..], &mut y).is_err());
            assert!(op.run(shape, &x, &mut y[1..]).is_err());
            // Row ranges of one image reproduce the whole image.
            let one = Nhwc::new(1, h, w, c);
            let row = out.w * c;
            let mut parts = vec![0u8; out.h * row];
            for r in [0..2, 2..3, 3..out.h] {
                let (a, b) = (r.start * row, r.end * row);
                op.run_rows(one, &x[..img], &mut parts[a..b], r).unwrap();
            }
            assert_eq!(&parts[..], &y[..out.h * row]);
            assert!(
                op.run_rows(one, &x[..img], &mut parts[..row], 0..2)
                    .is_err()
            );
        }
        let bad = QuantDepthwiseDesc { stride: 3, ..desc };
        assert!(QuantDepthwise::new(&bad, KernelTable::best()).is_err());
        let short = QuantDepthwiseDesc {
            weights: QuantWeights {
                outputs: c + 1,
                ..weights
            },
            ..desc
        };
        assert!(QuantDepthwise::new(&short, KernelTable::best()).is_err());
    }
}
