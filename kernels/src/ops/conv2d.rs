//! Dense 3x3 convolution (stride 1 or 2, zero padding) over NHWC tensors, direct method.
//! Input with 3 channels (RGB stems) uses a kernel specialised for it where one exists.

use super::error::{Error, Result};
use super::shape::{
    Nhwc, Padding, RowWindow, check_input, check_nonzero, check_window, row_op, window_output,
};
use crate::ukernels::{Conv3x3Args, Conv3x3Ukernel};
use crate::{Activation, KernelTable};

/// Describes a dense convolution.
#[derive(Clone, Copy, Debug)]
pub struct Conv2dDesc<'a> {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Window size (only 3 is implemented; use [`super::Pointwise`] for 1x1).
    pub kernel: usize,
    /// Stride (1 or 2).
    pub stride: usize,
    /// Zero padding; each side must be smaller than the window.
    pub padding: Padding,
    /// Weights `[cout][cin][3][3]` (PyTorch OIHW).
    pub weights: &'a [f32],
    /// Optional bias `[cout]`.
    pub bias: Option<&'a [f32]>,
    /// Fused activation.
    pub activation: Activation,
}

/// A dense convolution with packed weights and its chosen kernel.
pub struct Conv2d {
    cin: usize,
    cout: usize,
    stride: usize,
    padding: Padding,
    packed: Vec<f32>,
    uk: &'static Conv3x3Ukernel,
}

impl Conv2d {
    /// Validates `desc`, packs the weights and picks the kernel from `table`.
    pub fn new(desc: &Conv2dDesc<'_>, table: &KernelTable) -> Result<Self> {
        check_nonzero("cin", desc.cin)?;
        check_nonzero("cout", desc.cout)?;
        if desc.kernel != 3 {
            return Err(Error::Unsupported(format!(
                "dense {k}x{k} convolution (only 3x3 is implemented; 1x1 is `Pointwise`)",
                k = desc.kernel
            )));
        }
        check_window(3, 3, desc.stride, desc.stride, desc.padding)?;
        if desc.stride > 2 {
            return Err(Error::Unsupported(format!(
                "3x3 convolution with stride {}",
                desc.stride
            )));
        }
        let slot = table.conv3x3(desc.stride, desc.activation);
        let uk = slot
            .iter()
            .find(|uk| uk.tile.cin == Some(desc.cin))
            .or_else(|| slot.iter().find(|uk| uk.tile.cin.is_none()))
            .copied()
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "no kernel for 3x3 stride {} {}",
                    desc.stride, desc.activation
                ))
            })?;
        let packed =
            crate::pack::conv3x3(desc.weights, desc.bias, desc.cout, desc.cin, uk.tile.nr)?;
        Ok(Conv2d {
            cin: desc.cin,
            cout: desc.cout,
            stride: desc.stride,
            padding: desc.padding,
            packed,
            uk,
        })
    }

    /// The output shape for `input`.
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        let s = self.stride;
        window_output(input, 3, 3, s, s, self.padding, self.cout)
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }
}

row_op!(Conv2d, f32);

impl Conv2d {
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
        let RowWindow {
            skip,
            pad_top,
            in_h,
            out_h,
        } = window;
        let args = Conv3x3Args {
            input: x.wrapping_add(skip * input_shape.w * self.cin),
            in_h,
            in_w: input_shape.w,
            cin: self.cin,
            w: self.packed.as_ptr(),
            output: y,
            out_h,
            out_w: out.w,
            cout: self.cout,
            pad_top,
            pad_left: self.padding.left,
        };
        // SAFETY: callers checked that `x` holds the image and `y` the requested output rows;
        // `row_window` keeps the shifted input inside the image and every requested row's
        // window overlapping it (padding < 3, checked at creation); `packed` was built by
        // `pack::conv3x3` for this kernel's NR and `cin` (which matches a specialised kernel's
        // `tile.cin`); the kernel's ISA is in the table the op was built from.
        unsafe { (self.uk.func)(&args) };
    }
}
