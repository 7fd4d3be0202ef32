//! Dense convolution over NHWC tensors with zero padding: 3x3 windows at stride 1 or 2
//! directly or with Winograd F(2x2, 3x3) ([`super::winograd`]), any other window or stride as
//! a GEMM over gathered patches (im2col).
//!
//! # Choosing the algorithm
//! [`ConvAlgorithm::Auto`] (the default) picks, for a 3x3 window, Winograd when the layer is
//! stride 1 and [`winograd_pays`] holds, else the direct method (stride ≤ 2); every other
//! window or stride goes to im2col. [`ConvAlgorithm::Direct`], [`ConvAlgorithm::Winograd`]
//! and [`ConvAlgorithm::Im2col`] force one (direct: 3x3 stride 1/2; Winograd: 3x3 stride 1;
//! im2col: anything). Input with 3 channels (RGB stems) uses a direct kernel specialised for
//! it where one exists.
//!
//! A residual (for `act(conv(x) + r)`, the end of a ResNet block) is fused into the Winograd
//! output transform; the other methods add it in a second pass (`vadd` kernels, which exist
//! for linear and relu).

use super::error::{Error, Result};
use super::im2col::Im2col;
use super::shape::{
    Nhwc, Padding, RowWindow, check_buf, check_input, check_nonzero, check_padding, check_residual,
    check_row_request, per_image_rows, row_op, window_output,
};
use super::winograd::{Winograd3x3, WinogradDesc};
use crate::ukernels::vadd::{VaddArgs, VaddUkernel};
use crate::ukernels::{Conv3x3Args, Conv3x3Ukernel};
use crate::{Activation, KernelTable};

/// How a dense 3x3 convolution is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub enum ConvAlgorithm {
    /// Winograd when the cost rule ([`winograd_pays`]) favours it, else direct.
    #[default]
    Auto = 0,
    /// Direct convolution (stride 1 or 2).
    Direct = 1,
    /// Winograd F(2x2, 3x3) (stride 1 only).
    Winograd = 2,
    /// Gathered input patches times the weights with the GEMM kernels (any window, stride).
    Im2col = 3,
}

/// The cost rule of [`ConvAlgorithm::Auto`] for a stride-1 3x3 layer: Winograd pays when both
/// channel counts are at least 16. It does 2.25x fewer multiplies, in the pointwise GEMM
/// micro-kernels (which run near peak once `cin ≥ 16` gives them a useful reduction), at the
/// price of transforming every input and output tile (about `16·(cin + cout)` additions per
/// tile, memory-bound) and of 16/9 more filter data. With few channels the transforms
/// dominate; `rvcnn-kbench --resnet` measures both methods on ResNet shapes.
pub fn winograd_pays(cin: usize, cout: usize) -> bool {
    cin >= 16 && cout >= 16
}

/// Describes a dense convolution.
#[derive(Clone, Copy, Debug)]
pub struct Conv2dDesc<'a> {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Window size (square; 1x1 at stride 1 is better served by [`super::Pointwise`]).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding: any width (up to [`super::shape::MAX_PADDING`]) for Winograd and
    /// im2col; smaller than the window on every side for the direct method.
    pub padding: Padding,
    /// Weights `[cout][cin][kernel][kernel]` (PyTorch OIHW).
    pub weights: &'a [f32],
    /// Optional bias `[cout]`.
    pub bias: Option<&'a [f32]>,
    /// Fused activation.
    pub activation: Activation,
    /// Whether `run` adds a residual tensor (of the output's shape) before the activation.
    pub residual: bool,
    /// Direct, Winograd or chosen by the cost rule.
    pub algorithm: ConvAlgorithm,
}

/// A dense convolution with its weights prepared for the chosen algorithm.
pub struct Conv2d {
    imp: Imp,
}

enum Imp {
    /// Winograd fuses bias, activation and residual into its output transform.
    Winograd(Winograd3x3),
    /// The direct or im2col method, and for residual ops `act(y + r)` over its output (the
    /// convolution then runs linear).
    Unfused(Unfused, Option<&'static VaddUkernel>),
}

enum Unfused {
    Direct(Direct),
    Im2col(Im2col),
}

impl Conv2d {
    /// Validates `desc`, picks the algorithm and kernels from `table` and prepares the weights.
    pub fn new(desc: &Conv2dDesc<'_>, table: &KernelTable) -> Result<Self> {
        check_nonzero("cin", desc.cin)?;
        check_nonzero("cout", desc.cout)?;
        let (k, s, pad) = (desc.kernel, desc.stride, desc.padding);
        check_nonzero("kernel", k)?;
        check_nonzero("stride", s)?;
        check_padding(pad)?;
        let three = k == 3;
        let narrow_pad = [pad.top, pad.left, pad.bottom, pad.right]
            .iter()
            .all(|&p| p < k);
        let direct_ok = three && s <= 2 && narrow_pad;
        let algorithm = match desc.algorithm {
            ConvAlgorithm::Auto if three && s == 1 && winograd_pays(desc.cin, desc.cout) => {
                ConvAlgorithm::Winograd
            }
            ConvAlgorithm::Auto if direct_ok => ConvAlgorithm::Direct,
            ConvAlgorithm::Auto => ConvAlgorithm::Im2col,
            ConvAlgorithm::Direct if !direct_ok => {
                return Err(Error::Unsupported(format!(
                    "direct {k}x{k} convolution at stride {s} with padding {pad:?} (3x3 at \
                     stride 1 or 2 with padding below 3 only; use im2col)"
                )));
            }
            ConvAlgorithm::Winograd if !three || s != 1 => {
                return Err(Error::Unsupported(format!(
                    "Winograd F(2x2, 3x3) for a {k}x{k} window at stride {s} (3x3 stride 1 only)"
                )));
            }
            forced => forced,
        };
        let fused = algorithm == ConvAlgorithm::Winograd;
        let add = if desc.residual && !fused {
            let add = table
                .vadd(desc.activation)
                .first()
                .copied()
                .ok_or_else(|| {
                    Error::Unsupported(format!("convolution with residual and {}", desc.activation))
                })?;
            Some(add)
        } else {
            None
        };
        // The activation of the convolution itself (linear when a residual pass follows).
        let act = if add.is_some() {
            Activation::Linear
        } else {
            desc.activation
        };
        let unfused = match algorithm {
            ConvAlgorithm::Winograd => {
                return Ok(Conv2d {
                    imp: Imp::Winograd(Winograd3x3::new(
                        &WinogradDesc {
                            cin: desc.cin,
                            cout: desc.cout,
                            padding: desc.padding,
                            weights: desc.weights,
                            bias: desc.bias,
                            activation: desc.activation,
                            residual: desc.residual,
                        },
                        table,
                    )?),
                });
            }
            ConvAlgorithm::Direct => Unfused::Direct(Direct::new(desc, act, table)?),
            _ => Unfused::Im2col(Im2col::new(
                desc.cin,
                desc.cout,
                k,
                s,
                desc.padding,
                desc.weights,
                desc.bias,
                act,
                table,
            )?),
        };
        Ok(Conv2d {
            imp: Imp::Unfused(unfused, add),
        })
    }

    /// The algorithm in use (never `Auto`).
    pub fn algorithm(&self) -> ConvAlgorithm {
        match self.imp {
            Imp::Unfused(Unfused::Direct(_), _) => ConvAlgorithm::Direct,
            Imp::Winograd(_) => ConvAlgorithm::Winograd,
            Imp::Unfused(Unfused::Im2col(_), _) => ConvAlgorithm::Im2col,
        }
    }

    /// The output shape for `input`.
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        match &self.imp {
            Imp::Unfused(Unfused::Direct(d), _) => d.output_shape(input),
            Imp::Winograd(w) => w.output_shape(input),
            Imp::Unfused(Unfused::Im2col(g), _) => g.output_shape(input),
        }
    }

    /// Id of the kernel doing most of the work (the direct kernel, or the GEMM of Winograd
    /// and im2col).
    pub fn kernel_id(&self) -> &'static str {
        match &self.imp {
            Imp::Unfused(Unfused::Direct(d), _) => d.uk.id,
            Imp::Winograd(w) => w.kernel_ids()[1],
            Imp::Unfused(Unfused::Im2col(g), _) => g.kernel_id(),
        }
    }

    /// Floats of workspace `run` and `run_rows` need (0 for the direct method).
    pub fn workspace_len(&self) -> usize {
        match &self.imp {
            Imp::Unfused(Unfused::Direct(_), _) => 0,
            Imp::Winograd(w) => w.workspace_len(),
            Imp::Unfused(Unfused::Im2col(g), _) => g.workspace_len(),
        }
    }

    /// Runs on `input` (shape `input_shape`), writing `output`; `residual` (output-shaped) is
    /// required exactly when the op was created with `residual: true`; `workspace` holds at
    /// least [`Self::workspace_len`] floats. Returns the output shape.
    pub fn run(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        residual: Option<&[f32]>,
        workspace: &mut [f32],
    ) -> Result<Nhwc> {
        match &self.imp {
            Imp::Winograd(w) => w.run(input_shape, input, output, residual, workspace),
            // The direct method takes the whole batch at once.
            Imp::Unfused(Unfused::Direct(d), add) => {
                let out = self.output_shape(input_shape)?;
                check_residual(residual, add.is_some(), out.len()?)?;
                d.run(input_shape, input, output)?;
                add_residual(*add, residual, &mut output[..out.len()?]);
                Ok(out)
            }
            Imp::Unfused(Unfused::Im2col(_), add) => {
                let out = self.output_shape(input_shape)?;
                check_residual(residual, add.is_some(), 0)?;
                per_image_rows(input_shape, out, input, output, residual, |one, x, y, r| {
                    self.run_rows(one, x, y, 0..out.h, r, workspace)
                })?;
                Ok(out)
            }
        }
    }

    /// Computes output rows `rows` of one image (`input_shape.n == 1`) into `output`, which
    /// holds just those rows (`residual` likewise): lets callers split an image's rows over
    /// threads (each with its own workspace). For Winograd, ranges starting at even rows
    /// share no work.
    pub fn run_rows(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        rows: std::ops::Range<usize>,
        residual: Option<&[f32]>,
        workspace: &mut [f32],
    ) -> Result<()> {
        let (method, add) = match &self.imp {
            Imp::Winograd(w) => {
                return w.run_rows(input_shape, input, output, rows, residual, workspace);
            }
            Imp::Unfused(method, add) => (method, *add),
        };
        let out = self.output_shape(input_shape)?;
        let len = check_row_request(input_shape, input.len(), out, &rows, output.len())?;
        check_residual(residual, add.is_some(), len)?;
        match method {
            Unfused::Direct(d) => d.run_rows(input_shape, input, output, rows)?,
            Unfused::Im2col(g) => {
                check_buf("workspace", workspace.len(), g.workspace_len())?;
                g.run_rows(input_shape, input, output, rows, workspace)?;
            }
        }
        add_residual(add, residual, &mut output[..len]);
        Ok(())
    }
}

/// Applies `act(y + r)` with `add` to the computed `output` for residual ops (lengths
/// checked).
fn add_residual(add: Option<&'static VaddUkernel>, residual: Option<&[f32]>, output: &mut [f32]) {
    if let (Some(r), Some(add)) = (residual, add) {
        let args = VaddArgs {
            a: output.as_ptr(),
            b: r.as_ptr(),
            output: output.as_mut_ptr(),
            n: output.len().min(r.len()),
        };
        // SAFETY: `output` and `r` hold at least `n` floats; the output is also the first
        // addend, which the kernel allows; the ISA is in the creating table.
        unsafe { (add.func)(&args) };
    }
}

/// The direct method: packed weights and the chosen kernel.
struct Direct {
    cin: usize,
    cout: usize,
    stride: usize,
    padding: Padding,
    packed: Vec<f32>,
    uk: &'static Conv3x3Ukernel,
}

impl Direct {
    fn new(desc: &Conv2dDesc<'_>, conv_act: Activation, table: &KernelTable) -> Result<Self> {
        let slot = table.conv3x3(desc.stride, conv_act);
        let uk = slot
            .iter()
            .find(|uk| uk.tile.cin == Some(desc.cin))
            .or_else(|| slot.iter().find(|uk| uk.tile.cin.is_none()))
            .copied()
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "no kernel for 3x3 stride {} {}",
                    desc.stride, conv_act
                ))
            })?;
        let packed =
            crate::pack::conv3x3(desc.weights, desc.bias, desc.cout, desc.cin, uk.tile.nr)?;
        Ok(Direct {
            cin: desc.cin,
            cout: desc.cout,
            stride: desc.stride,
            padding: desc.padding,
            packed,
            uk,
        })
    }

    fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        let s = self.stride;
        window_output(input, 3, 3, s, s, self.padding, self.cout)
    }

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

row_op!(Direct, f32);
