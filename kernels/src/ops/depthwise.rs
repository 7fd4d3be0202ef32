//! Depthwise KxK convolution (K = 3 or 5, stride 1 or 2, zero padding) over NHWC tensors.

use super::error::{Error, Result};
use super::packed::{HasPacked, Packed};
use super::pick_block;
use super::shape::{
    Nhwc, Padding, RowOp, RowWindow, check_input, check_nonzero, check_window, row_op,
    window_output,
};
use crate::ukernels::{DwconvArgs, DwconvUkernel};
use crate::{Activation, KernelTable};

/// Input images with more floats than this (1 MiB) run rows outermost (see `DwconvArgs`), as
/// do all stride-2 ones: a stride-2 output row reads two input pixels per output pixel, and
/// swept one channel block at a time those rows fall out of L1 between blocks. Row by row,
/// every channel block of a column tile reads the same L1-resident band. Measured on the Zen 3
/// host (`rvcnn-kbench`, alternating runs): 3x3 stride 2 on 56x56x144 −11%, 14x14x576 −20%,
/// an 8-row 112x112x64 band −13%; 5x5 stride 2 on 14x14x672 −10%, 28x28x96 +3%; stride 1
/// gains nothing this way (5x5 on 28x28x120: +20%).
const ROWS_OUTER_ABOVE: usize = 1 << 18;

/// Describes a depthwise convolution.
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseDesc<'a> {
    /// Channels (input = output; one filter per channel).
    pub channels: usize,
    /// Window size K (3 or 5).
    pub kernel: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Zero padding; each side must be smaller than K.
    pub padding: Padding,
    /// Weights `[channels][K][K]` (PyTorch `[channels, 1, K, K]`).
    pub weights: &'a [f32],
    /// Optional bias `[channels]`.
    pub bias: Option<&'a [f32]>,
    /// Fused activation.
    pub activation: Activation,
}

/// A depthwise convolution with packed weights and its chosen kernel.
pub struct DepthwiseConv2d {
    channels: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    packed: Packed,
    uk: &'static DwconvUkernel,
}

impl DepthwiseConv2d {
    /// Validates `desc`, packs the weights and picks the kernel from `table`.
    pub fn new(desc: &DepthwiseDesc<'_>, table: &KernelTable) -> Result<Self> {
        check_nonzero("channels", desc.channels)?;
        let (k, s) = (desc.kernel, desc.stride);
        check_window(k, k, s, s, desc.padding)?;
        if KernelTable::dwconv_slot(k, s, desc.activation).is_none() {
            return Err(Error::Unsupported(format!(
                "depthwise {k}x{k} stride {s} (kernels exist for 3x3 and 5x5 at stride 1 and 2)"
            )));
        }
        let uk = pick_block(table.dwconv(k, s, desc.activation), desc.channels, |u| {
            u.tile.cb
        })
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "no kernel for depthwise {k}x{k} stride {s} {}",
                desc.activation
            ))
        })?;
        let packed = crate::pack::dwconv(desc.weights, desc.bias, desc.channels, k, uk.tile.cb)?;
        Ok(DepthwiseConv2d {
            channels: desc.channels,
            kernel: k,
            stride: s,
            padding: desc.padding,
            packed: Packed::new(packed),
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

    /// Window size K.
    pub fn kernel_size(&self) -> usize {
        self.kernel
    }

    /// Stride (1 or 2).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Zero padding.
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// Computes output rows `rows` of one image (`input_shape.n == 1`) into `output` from a
    /// band of the input: `band` holds input rows `first..` (whole rows), at least those the
    /// requested rows' windows read — rows `rows.start·stride − pad_top` up to
    /// `(rows.end − 1)·stride − pad_top + K`, clipped to the image. Lets a producer
    /// (the expanding pointwise conv of an inverted-residual block) write only a few rows at a
    /// time into a buffer that stays in cache.
    pub fn run_rows_band(
        &self,
        input_shape: Nhwc,
        band: &[f32],
        first: usize,
        output: &mut [f32],
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        RowOp::run_band(self, self.kernel, input_shape, band, first, output, rows)
    }
}

row_op!(DepthwiseConv2d, f32);

impl DepthwiseConv2d {
    /// The kernel call for the output rows of `window` (validated by the callers) of one
    /// image.
    fn call_kernel(
        &self,
        input_shape: Nhwc,
        x: *const f32,
        y: *mut f32,
        window: RowWindow,
        out: Nhwc,
    ) {
        // Stride-1 images that fit L2 (≤ 1 MiB) sweep channel blocks outermost; larger ones,
        // and every stride-2 one, go row by row (see `ROWS_OUTER_ABOVE`).
        let rows_outer =
            self.stride == 2 || input_shape.h * input_shape.w * self.channels > ROWS_OUTER_ABOVE;
        let RowWindow {
            skip,
            pad_top,
            in_h,
            out_h,
        } = window;
        let args = DwconvArgs {
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
            rows_outer,
        };
        // SAFETY: callers checked that `x` holds the image and `y` the requested output rows;
        // `row_window` keeps the shifted input inside the image (skip ≤ in_h) and leaves the
        // window of every requested row overlapping it (padding < K, checked at creation);
        // `packed` was built by `pack::dwconv` for this kernel's CB and K; all dimensions are
        // ≥ 1; the kernel's ISA is in the table the op was built from.
        unsafe { (self.uk.func)(&args) };
    }
}

impl HasPacked for DepthwiseConv2d {
    fn packed_buffers<'a>(&'a mut self, out: &mut Vec<&'a mut Packed>) {
        out.push(&mut self.packed);
    }
}
