//! Dense 3x3 convolution (stride 1 or 2, zero padding) over NHWC tensors, computed directly
//! or with Winograd F(2x2, 3x3) ([`super::winograd`]).
//!
//! # Choosing the algorithm
//! [`ConvAlgorithm::Auto`] (the default) picks Winograd when the layer is stride 1 and
//! [`winograd_pays`] holds, else the direct method; [`ConvAlgorithm::Direct`] and
//! [`ConvAlgorithm::Winograd`] force one (Winograd only exists for stride 1). Input with 3
//! channels (RGB stems) uses a direct kernel specialised for it where one exists.
//!
//! A residual (for `act(conv(x) + r)`, the end of a ResNet block) is fused into the Winograd
//! output transform; the direct method adds it in a second pass (`vadd` kernels, which exist
//! for linear and relu).

use super::error::{Error, Result, invalid};
use super::shape::{
    Nhwc, Padding, RowWindow, check_buf, check_input, check_nonzero, check_window, row_op,
    window_output,
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
    Direct(Direct),
    Winograd(Winograd3x3),
}

impl Conv2d {
    /// Validates `desc`, picks the algorithm and kernels from `table` and prepares the weights.
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
        let winograd = match desc.algorithm {
            ConvAlgorithm::Auto => desc.stride == 1 && winograd_pays(desc.cin, desc.cout),
            ConvAlgorithm::Direct => false,
            ConvAlgorithm::Winograd if desc.stride == 1 => true,
            ConvAlgorithm::Winograd => {
                return Err(Error::Unsupported(format!(
                    "Winograd F(2x2, 3x3) at stride {} (stride 1 only)",
                    desc.stride
                )));
            }
        };
        let imp = if winograd {
            Imp::Winograd(Winograd3x3::new(
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
            )?)
        } else {
            Imp::Direct(Direct::new(desc, table)?)
        };
        Ok(Conv2d { imp })
    }

    /// The algorithm in use (never `Auto`).
    pub fn algorithm(&self) -> ConvAlgorithm {
        match self.imp {
            Imp::Direct(_) => ConvAlgorithm::Direct,
            Imp::Winograd(_) => ConvAlgorithm::Winograd,
        }
    }

    /// The output shape for `input`.
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        match &self.imp {
            Imp::Direct(d) => d.output_shape(input),
            Imp::Winograd(w) => w.output_shape(input),
        }
    }

    /// Id of the kernel doing most of the work (the direct kernel, or Winograd's GEMM).
    pub fn kernel_id(&self) -> &'static str {
        match &self.imp {
            Imp::Direct(d) => d.uk.id,
            Imp::Winograd(w) => w.kernel_ids()[1],
        }
    }

    /// Floats of workspace `run` and `run_rows` need (0 for the direct method).
    pub fn workspace_len(&self) -> usize {
        match &self.imp {
            Imp::Direct(_) => 0,
            Imp::Winograd(w) => w.workspace_len(),
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
            Imp::Direct(d) => {
                let out = d.run(input_shape, input, output)?;
                d.add_residual(residual, &mut output[..out.len()?])?;
                Ok(out)
            }
            Imp::Winograd(w) => w.run(input_shape, input, output, residual, workspace),
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
        match &self.imp {
            Imp::Direct(d) => {
                let len = rows.len() * d.output_shape(input_shape)?.w * d.cout;
                d.run_rows(input_shape, input, output, rows)?;
                d.add_residual(residual, &mut output[..len])
            }
            Imp::Winograd(w) => w.run_rows(input_shape, input, output, rows, residual, workspace),
        }
    }
}

/// The direct method: packed weights, the chosen kernel and the residual pass.
struct Direct {
    cin: usize,
    cout: usize,
    stride: usize,
    padding: Padding,
    packed: Vec<f32>,
    uk: &'static Conv3x3Ukernel,
    /// `act(y + r)` over the output, for residual ops (the kernel then runs linear).
    add: Option<&'static VaddUkernel>,
}

impl Direct {
    fn new(desc: &Conv2dDesc<'_>, table: &KernelTable) -> Result<Self> {
        let (conv_act, add) = if desc.residual {
            let add = table
                .vadd(desc.activation)
                .first()
                .copied()
                .ok_or_else(|| {
                    Error::Unsupported(format!(
                        "direct 3x3 convolution with residual and {}",
                        desc.activation
                    ))
                })?;
            (Activation::Linear, Some(add))
        } else {
            (desc.activation, None)
        };
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
            add,
        })
    }

    fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        let s = self.stride;
        window_output(input, 3, 3, s, s, self.padding, self.cout)
    }

    /// Applies `act(y + r)` to the computed `output` for residual ops.
    fn add_residual(&self, residual: Option<&[f32]>, output: &mut [f32]) -> Result<()> {
        match (residual, self.add) {
            (Some(r), Some(add)) => {
                check_buf("residual", r.len(), output.len())?;
                let args = VaddArgs {
                    a: output.as_ptr(),
                    b: r.as_ptr(),
                    output: output.as_mut_ptr(),
                    n: output.len(),
                };
                // SAFETY: `output` and `r` hold `n` floats (checked); the output is also the
                // first addend, which the kernel allows; the ISA is in the creating table.
                unsafe { (add.func)(&args) };
                Ok(())
            }
            (None, None) => Ok(()),
            (Some(_), None) => invalid!("residual given to a convolution created without one"),
            (None, Some(_)) => {
                invalid!("convolution created with residual needs a residual tensor")
            }
        }
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
