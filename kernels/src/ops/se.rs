//! Squeeze-excitation: `y = x · gate(W₂·inner(W₁·mean(x) + b₁) + b₂)` per image and channel,
//! as in MobileNetV3 (inner ReLU, gate hard-sigmoid).

use super::error::Result;
use super::first;
use super::gemm_plan::GemmPlan;
use super::packed::{HasPacked, Packed};
use super::pool::GlobalAvgPool;
use super::shape::{Nhwc, check_buf, check_input, check_nonzero};
use crate::ukernels::ChannelArgs;
use crate::ukernels::chscale::ChscaleUkernel;
use crate::{Activation, KernelTable};

/// Describes a squeeze-excitation block.
#[derive(Clone, Copy, Debug)]
pub struct SqueezeExciteDesc<'a> {
    /// Channels of the gated tensor.
    pub channels: usize,
    /// Hidden width of the bottleneck.
    pub squeeze: usize,
    /// `fc1` weights `[squeeze][channels]` (PyTorch `fc1.weight`, a 1x1 conv).
    pub fc1_weights: &'a [f32],
    /// `fc1` bias `[squeeze]`.
    pub fc1_bias: Option<&'a [f32]>,
    /// `fc2` weights `[channels][squeeze]`.
    pub fc2_weights: &'a [f32],
    /// `fc2` bias `[channels]`.
    pub fc2_bias: Option<&'a [f32]>,
    /// Activation after `fc1` (MobileNetV3: `Relu`).
    pub inner: Activation,
    /// Gate activation after `fc2` (MobileNetV3: `Hsigmoid`).
    pub gate: Activation,
}

/// A squeeze-excitation block with packed weights and its chosen kernels.
pub struct SqueezeExcite {
    channels: usize,
    squeeze: usize,
    pool: GlobalAvgPool,
    fc1: GemmPlan,
    fc2: GemmPlan,
    scale: &'static ChscaleUkernel,
}

impl SqueezeExcite {
    /// Validates `desc`, packs both layers and picks the kernels from `table`.
    pub fn new(desc: &SqueezeExciteDesc<'_>, table: &KernelTable) -> Result<Self> {
        let (c, s) = (desc.channels, desc.squeeze);
        check_nonzero("channels", c)?;
        check_nonzero("squeeze", s)?;
        let fc1 = GemmPlan::new(
            table.gemm(desc.inner, false),
            "SE fc1",
            s,
            c,
            desc.fc1_weights,
            desc.fc1_bias,
        )?;
        let fc2 = GemmPlan::new(
            table.gemm(desc.gate, false),
            "SE fc2",
            c,
            s,
            desc.fc2_weights,
            desc.fc2_bias,
        )?;
        let scale = first(table.chscale(), || "channel scale".into())?;
        Ok(SqueezeExcite {
            channels: c,
            squeeze: s,
            pool: GlobalAvgPool::new(c, table)?,
            fc1,
            fc2,
            scale,
        })
    }

    /// Hidden width of the bottleneck.
    pub fn squeeze(&self) -> usize {
        self.squeeze
    }

    /// Floats of workspace `run` needs: `2·channels + squeeze`.
    pub fn workspace_len(&self) -> usize {
        2 * self.channels + self.squeeze
    }

    /// Ids of the kernels used (pool, fc1, fc2, scale).
    pub fn kernel_ids(&self) -> [&'static str; 4] {
        [
            self.pool.kernel_id(),
            self.fc1.kernel_id(),
            self.fc2.kernel_id(),
            self.scale.id,
        ]
    }

    fn check(&self, shape: Nhwc, input_len: usize, output_len: usize, ws_len: usize) -> Result<()> {
        check_input(shape, self.channels)?;
        let len = shape.len()?;
        check_buf("input", input_len, len)?;
        check_buf("output", output_len, len)?;
        check_buf("workspace", ws_len, self.workspace_len())
    }

    /// Computes the gate of one image into `ws[..c]`, using the rest of `ws` as scratch.
    fn gate(&self, pixels: usize, image: &[f32], ws: &mut [f32]) -> Result<()> {
        let (gate, rest) = ws.split_at_mut(self.channels);
        let (pooled, hidden) = rest.split_at_mut(self.channels);
        self.pool.call(pixels, image, pooled);
        self.fc1
            .run(1, pooled, self.channels, hidden, self.squeeze, None)?;
        self.fc2
            .run(1, hidden, self.squeeze, gate, self.channels, None)
    }

    fn scale(&self, pixels: usize, input: *const f32, output: *mut f32, gate: &[f32]) {
        let args = ChannelArgs {
            input,
            output,
            pixels,
            channels: self.channels,
            scale: gate.as_ptr(),
            shift: std::ptr::null(),
        };
        // SAFETY: callers checked both image buffers hold `pixels·channels` floats (they may
        // alias, which the kernel allows); `gate` holds `channels` floats; the kernel's ISA is
        // in the table the op was built from.
        unsafe { (self.scale.func)(&args) };
    }

    /// The channel means and the hidden activations (after `inner`) of the last image
    /// gated with `workspace`: for observing a run.
    pub fn observed<'a>(&self, workspace: &'a [f32]) -> Result<(&'a [f32], &'a [f32])> {
        check_buf("workspace", workspace.len(), self.workspace_len())?;
        let (c, s) = (self.channels, self.squeeze);
        Ok((&workspace[c..2 * c], &workspace[2 * c..2 * c + s]))
    }

    /// Gates `input` (shape `shape`) into `output`, using `workspace`
    /// ([`Self::workspace_len`] floats).
    pub fn run(
        &self,
        shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        workspace: &mut [f32],
    ) -> Result<()> {
        self.check(shape, input.len(), output.len(), workspace.len())?;
        // `image_len` succeeded, so `h·w` cannot overflow.
        let (img, pixels) = (shape.image_len()?, shape.h * shape.w);
        for b in 0..shape.n {
            let image = &input[b * img..(b + 1) * img];
            self.gate(pixels, image, workspace)?;
            self.scale(
                pixels,
                image.as_ptr(),
                output[b * img..].as_mut_ptr(),
                &workspace[..self.channels],
            );
        }
        Ok(())
    }

    /// Gates `data` (shape `shape`) in place, using `workspace`.
    pub fn run_in_place(&self, shape: Nhwc, data: &mut [f32], workspace: &mut [f32]) -> Result<()> {
        self.check(shape, data.len(), data.len(), workspace.len())?;
        let (img, pixels) = (shape.image_len()?, shape.h * shape.w);
        for b in 0..shape.n {
            let image = &mut data[b * img..(b + 1) * img];
            self.gate(pixels, image, workspace)?;
            let p = image.as_mut_ptr();
            self.scale(pixels, p, p, &workspace[..self.channels]);
        }
        Ok(())
    }
}

impl HasPacked for SqueezeExcite {
    fn packed_buffers<'a>(&'a mut self, out: &mut Vec<&'a mut Packed>) {
        out.push(self.fc1.packed_mut());
        out.push(self.fc2.packed_mut());
    }
}
