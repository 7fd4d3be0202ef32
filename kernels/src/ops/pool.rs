//! Pooling over NHWC tensors: windowed max / average, and global average.

use super::error::{Error, Result};
use super::first;
use super::shape::{
    Nhwc, Padding, check_buf, check_input, check_nonzero, check_window, per_image, product,
    window_output,
};
use crate::KernelTable;
use crate::ukernels::PoolArgs;
use crate::ukernels::gavgpool::{GavgpoolArgs, GavgpoolUkernel};

/// Which reduction a [`Pool`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum over the window (padding never wins).
    Max,
    /// Mean over the window.
    Average {
        /// Divide by the whole window (PyTorch's default `count_include_pad=True`) rather than
        /// by the number of in-image taps.
        count_include_pad: bool,
    },
}

/// Describes a windowed pooling.
#[derive(Clone, Copy, Debug)]
pub struct PoolDesc {
    /// Max or average.
    pub kind: PoolKind,
    /// Channels.
    pub channels: usize,
    /// Window `(height, width)`.
    pub kernel: (usize, usize),
    /// Stride `(vertical, horizontal)`.
    pub stride: (usize, usize),
    /// Zero padding; each side must be smaller than the window.
    pub padding: Padding,
}

/// A windowed pooling with its chosen kernel.
pub struct Pool {
    desc: PoolDesc,
    id: &'static str,
    func: unsafe fn(&PoolArgs),
}

impl Pool {
    /// Validates `desc` and picks the kernel from `table`.
    pub fn new(desc: &PoolDesc, table: &KernelTable) -> Result<Self> {
        check_nonzero("channels", desc.channels)?;
        let ((kh, kw), (sh, sw)) = (desc.kernel, desc.stride);
        check_window(kh, kw, sh, sw, desc.padding)?;
        let (id, func) = match desc.kind {
            PoolKind::Max => {
                first(table.maxpool(), || "max pooling".into()).map(|u| (u.id, u.func))?
            }
            PoolKind::Average { .. } => {
                first(table.avgpool(), || "average pooling".into()).map(|u| (u.id, u.func))?
            }
        };
        Ok(Pool {
            desc: *desc,
            id,
            func,
        })
    }

    /// The output shape for `input`.
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.desc.channels)?;
        let ((kh, kw), (sh, sw)) = (self.desc.kernel, self.desc.stride);
        window_output(input, kh, kw, sh, sw, self.desc.padding, self.desc.channels)
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.id
    }

    /// Runs on `input` (shape `input_shape`), writing `output`; returns the output shape.
    pub fn run(&self, input_shape: Nhwc, input: &[f32], output: &mut [f32]) -> Result<Nhwc> {
        let out = self.output_shape(input_shape)?;
        let d = &self.desc;
        per_image(input_shape, out, input, output, |x, y| {
            let args = PoolArgs {
                input: x,
                in_h: input_shape.h,
                in_w: input_shape.w,
                channels: d.channels,
                output: y,
                out_h: out.h,
                out_w: out.w,
                kernel_h: d.kernel.0,
                kernel_w: d.kernel.1,
                stride_h: d.stride.0,
                stride_w: d.stride.1,
                pad_top: d.padding.top,
                pad_left: d.padding.left,
                count_include_pad: matches!(
                    d.kind,
                    PoolKind::Average {
                        count_include_pad: true
                    }
                ),
            };
            // SAFETY: `per_image` checked both buffers and passes image starts inside them; padding
            // < window on every side (checked at creation) so every window overlaps the image; the
            // kernel's ISA is in the table the op was built from.
            unsafe { (self.func)(&args) };
        })
    }
}

/// Global average pooling: `[n][h][w][c] → [n][c]`.
pub struct GlobalAvgPool {
    channels: usize,
    uk: &'static GavgpoolUkernel,
}

impl GlobalAvgPool {
    /// Picks the kernel for `channels` channels from `table`.
    pub fn new(channels: usize, table: &KernelTable) -> Result<Self> {
        check_nonzero("channels", channels)?;
        let uk = first(table.gavgpool(), || "global average pooling".into())?;
        Ok(GlobalAvgPool { channels, uk })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    /// Averages each image of `input` (shape `input_shape`) into `output[b·c..(b+1)·c]`.
    pub fn run(&self, input_shape: Nhwc, input: &[f32], output: &mut [f32]) -> Result<()> {
        check_input(input_shape, self.channels)?;
        check_buf("input", input.len(), input_shape.len()?)?;
        check_buf(
            "output",
            output.len(),
            product(&[input_shape.n, self.channels], "output")?,
        )?;
        let img = input_shape.image_len()?;
        let pixels = input_shape
            .h
            .checked_mul(input_shape.w)
            .ok_or(Error::SizeOverflow("image"))?;
        for b in 0..input_shape.n {
            self.call(pixels, &input[b * img..], &mut output[b * self.channels..]);
        }
        Ok(())
    }

    /// Averages one image of `pixels ≥ 1` pixels. Callers validate sizes first; the assert
    /// only guards this internal invariant (it keeps the function sound).
    pub(crate) fn call(&self, pixels: usize, input: &[f32], output: &mut [f32]) {
        assert!(
            pixels >= 1 && input.len() / self.channels >= pixels && output.len() >= self.channels
        );
        let args = GavgpoolArgs {
            input: input.as_ptr(),
            pixels,
            channels: self.channels,
            output: output.as_mut_ptr(),
        };
        // SAFETY: the assert above covers `pixels ≥ 1` and both lengths; the output is a
        // distinct `&mut` borrow; the kernel's ISA is in the table the op was built from.
        unsafe { (self.uk.func)(&args) };
    }
}
