//! Fully-connected layer `y = act(W·x + b)` over a batch of vectors (a GEMM with the batch as
//! rows; a batch of one uses the 1-row GEMM tiles, i.e. a matrix-vector product).

use super::error::Result;
use super::gemm_plan::GemmPlan;
use super::packed::{HasPacked, Packed};
use super::shape::{check_buf, check_nonzero, product};
use crate::{Activation, KernelTable};

/// Describes a fully-connected layer.
#[derive(Clone, Copy, Debug)]
pub struct LinearDesc<'a> {
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Weights `[out][in]` (PyTorch `Linear.weight`).
    pub weights: &'a [f32],
    /// Optional bias `[out]`.
    pub bias: Option<&'a [f32]>,
    /// Fused activation.
    pub activation: Activation,
}

/// A fully-connected layer with packed weights and its chosen kernels.
pub struct Linear {
    inputs: usize,
    outputs: usize,
    plan: GemmPlan,
}

impl Linear {
    /// Validates `desc`, packs the weights and picks the kernels from `table`.
    pub fn new(desc: &LinearDesc<'_>, table: &KernelTable) -> Result<Self> {
        check_nonzero("in_features", desc.in_features)?;
        check_nonzero("out_features", desc.out_features)?;
        let slot = table.gemm(desc.activation, false);
        let what = format!("linear {}", desc.activation);
        let plan = GemmPlan::new(
            slot,
            &what,
            desc.out_features,
            desc.in_features,
            desc.weights,
            desc.bias,
        )?;
        Ok(Linear {
            inputs: desc.in_features,
            outputs: desc.out_features,
            plan,
        })
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.inputs
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.outputs
    }

    /// Id of the kernel used for full row blocks.
    pub fn kernel_id(&self) -> &'static str {
        self.plan.kernel_id()
    }

    /// Id of the kernel that computes a batch of `batch` vectors (a batch of one uses a
    /// 1-row tile).
    pub fn kernel_id_for(&self, batch: usize) -> &'static str {
        self.plan.kernel_id_for(batch)
    }

    /// Applies the layer to `batch` vectors of `in_features` (row-major), writing `batch`
    /// vectors of `out_features`.
    pub fn run(&self, batch: usize, input: &[f32], output: &mut [f32]) -> Result<()> {
        check_buf(
            "input",
            input.len(),
            product(&[batch, self.inputs], "input")?,
        )?;
        check_buf(
            "output",
            output.len(),
            product(&[batch, self.outputs], "output")?,
        )?;
        self.plan
            .run(batch, input, self.inputs, output, self.outputs, None)
    }
}

impl HasPacked for Linear {
    fn packed_buffers<'a>(&'a mut self, out: &mut Vec<&'a mut Packed>) {
        out.push(self.plan.packed_mut());
    }
}
