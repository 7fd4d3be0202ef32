//! Pointwise (1x1, stride 1) convolution over NHWC tensors: a GEMM with pixels as rows.

use super::error::Result;
use super::gemm_plan::{GemmPlan, Residual};
use super::packed::{HasPacked, Packed};
use super::shape::{Nhwc, check_buf, check_input, check_nonzero, check_residual};
use crate::{Activation, KernelTable};

/// Describes a pointwise convolution.
#[derive(Clone, Copy, Debug)]
pub struct PointwiseDesc<'a> {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Weights `[cout][cin]` (PyTorch `[cout, cin, 1, 1]`).
    pub weights: &'a [f32],
    /// Optional bias `[cout]`.
    pub bias: Option<&'a [f32]>,
    /// Fused activation.
    pub activation: Activation,
    /// Whether `run` adds a residual tensor (of the output's shape) before the activation.
    /// Only `Activation::Linear` has residual kernels (the MobileNet projection layers).
    pub residual: bool,
}

/// A pointwise convolution with packed weights and its chosen kernels.
pub struct Pointwise {
    cin: usize,
    cout: usize,
    residual: bool,
    plan: GemmPlan,
}

impl Pointwise {
    /// Validates `desc`, packs the weights and picks the kernels from `table`.
    pub fn new(desc: &PointwiseDesc<'_>, table: &KernelTable) -> Result<Self> {
        check_nonzero("cin", desc.cin)?;
        check_nonzero("cout", desc.cout)?;
        let slot = table.gemm(desc.activation, desc.residual);
        let what = format!(
            "pointwise {}{}",
            desc.activation,
            if desc.residual { " + residual" } else { "" }
        );
        let plan = GemmPlan::new(slot, &what, desc.cout, desc.cin, desc.weights, desc.bias)?;
        Ok(Pointwise {
            cin: desc.cin,
            cout: desc.cout,
            residual: desc.residual,
            plan,
        })
    }

    /// The output shape for `input` (same N, H, W; `cout` channels).
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        Ok(Nhwc {
            c: self.cout,
            ..input
        })
    }

    /// Id of the kernel used for full row blocks.
    pub fn kernel_id(&self) -> &'static str {
        self.plan.kernel_id()
    }

    /// Runs on `input` (shape `input_shape`), writing `output`; `residual` (output-shaped) is
    /// required exactly when the operator was created with `residual: true`.
    pub fn run(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        residual: Option<&[f32]>,
    ) -> Result<Nhwc> {
        let out = self.output_shape(input_shape)?;
        let m = input_shape.pixels()?;
        check_buf("input", input.len(), input_shape.len()?)?;
        check_buf("output", output.len(), out.len()?)?;
        check_residual(residual, self.residual, out.len()?)?;
        let res = residual.map(|data| Residual {
            data,
            stride: self.cout,
        });
        self.plan.run(m, input, self.cin, output, self.cout, res)?;
        Ok(out)
    }
}

impl HasPacked for Pointwise {
    fn packed_buffers<'a>(&'a mut self, out: &mut Vec<&'a mut Packed>) {
        out.push(self.plan.packed_mut());
    }
}
