//! Batch-norm inference, `y = act(γ·(x − μ)/√(σ² + ε) + β)` per channel, as a fused
//! scale + shift; and folding of a batch-norm into the convolution before it.

use super::error::{Result, invalid};
use super::first;
use super::shape::{Nhwc, check_buf, check_input, check_len, check_nonzero};
use crate::ukernels::ChannelArgs;
use crate::ukernels::bn::BnUkernel;
use crate::{Activation, KernelTable};

/// Batch-norm parameters (PyTorch `BatchNorm2d` in eval mode).
#[derive(Clone, Copy, Debug)]
pub struct BatchNormDesc<'a> {
    /// Channels.
    pub channels: usize,
    /// γ (`weight`).
    pub gamma: &'a [f32],
    /// β (`bias`).
    pub beta: &'a [f32],
    /// μ (`running_mean`).
    pub mean: &'a [f32],
    /// σ² (`running_var`), each ≥ 0.
    pub var: &'a [f32],
    /// ε (> 0; PyTorch's default is 1e-5, MobileNetV3 uses 1e-3).
    pub eps: f32,
    /// Activation fused after the normalisation.
    pub activation: Activation,
}

impl BatchNormDesc<'_> {
    /// The per-channel `(scale, shift)` with `y = x·scale + shift`, computed in f64.
    /// Errors on wrong lengths, non-finite parameters, negative variance or `ε ≤ 0`.
    pub fn scale_shift(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let c = self.channels;
        check_nonzero("channels", c)?;
        for (what, v) in [
            ("gamma", self.gamma),
            ("beta", self.beta),
            ("mean", self.mean),
            ("var", self.var),
        ] {
            check_len(what, v.len(), c)?;
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return invalid!("batch-norm {what}[{i}] is not finite ({})", v[i]);
            }
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return invalid!("batch-norm eps must be finite and > 0, got {}", self.eps);
        }
        if let Some(i) = self.var.iter().position(|&v| v < 0.0) {
            return invalid!("batch-norm var[{i}] is negative ({})", self.var[i]);
        }
        let scale: Vec<f64> = (0..c)
            .map(|i| {
                f64::from(self.gamma[i]) / (f64::from(self.var[i]) + f64::from(self.eps)).sqrt()
            })
            .collect();
        let shift = (0..c)
            .map(|i| (f64::from(self.beta[i]) - f64::from(self.mean[i]) * scale[i]) as f32)
            .collect();
        Ok((scale.into_iter().map(|s| s as f32).collect(), shift))
    }

    /// Folds this batch-norm into the convolution that feeds it: returns `(weights', bias')`
    /// with `weights'[o][..] = weights[o][..]·scale[o]` and `bias' = (bias − μ)·scale + β`.
    /// `weights` has the output channel as its outermost dimension (OIHW, or `[C][K][K]` for
    /// depthwise) and `channels` output channels. The activation is not part of the fold.
    pub fn fold_into(&self, weights: &[f32], bias: Option<&[f32]>) -> Result<(Vec<f32>, Vec<f32>)> {
        let (scale, _) = self.scale_shift()?;
        let c = self.channels;
        if weights.is_empty() || !weights.len().is_multiple_of(c) {
            return invalid!(
                "weights length {} is not a non-zero multiple of {c} output channels",
                weights.len()
            );
        }
        if let Some(b) = bias {
            check_len("bias", b.len(), c)?;
        }
        let per = weights.len() / c;
        let folded_w = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| w * scale[i / per])
            .collect();
        let folded_b = (0..c)
            .map(|o| {
                let b = f64::from(bias.map_or(0.0, |b| b[o]));
                ((b - f64::from(self.mean[o])) * f64::from(scale[o]) + f64::from(self.beta[o]))
                    as f32
            })
            .collect();
        Ok((folded_w, folded_b))
    }
}

/// A batch-norm with precomputed scale/shift and its chosen kernel.
pub struct BatchNorm {
    channels: usize,
    scale: Vec<f32>,
    shift: Vec<f32>,
    uk: &'static BnUkernel,
}

impl BatchNorm {
    /// Validates `desc`, precomputes scale and shift and picks the kernel from `table`.
    pub fn new(desc: &BatchNormDesc<'_>, table: &KernelTable) -> Result<Self> {
        let (scale, shift) = desc.scale_shift()?;
        let uk = first(table.bn(desc.activation), || {
            format!("batch-norm {}", desc.activation)
        })?;
        Ok(BatchNorm {
            channels: desc.channels,
            scale,
            shift,
            uk,
        })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    fn check(&self, shape: Nhwc, input_len: usize, output_len: usize) -> Result<usize> {
        check_input(shape, self.channels)?;
        let len = shape.len()?;
        check_buf("input", input_len, len)?;
        check_buf("output", output_len, len)?;
        shape.pixels()
    }

    fn call(&self, pixels: usize, input: *const f32, output: *mut f32) {
        let args = ChannelArgs {
            input,
            output,
            pixels,
            channels: self.channels,
            scale: self.scale.as_ptr(),
            shift: self.shift.as_ptr(),
        };
        // SAFETY: callers checked that both buffers hold `pixels·channels` floats (they may
        // be the same buffer, which the kernel allows); scale/shift hold `channels` floats;
        // the kernel's ISA is in the table the op was built from.
        unsafe { (self.uk.func)(&args) };
    }

    /// Normalises `input` (shape `shape`) into `output`.
    pub fn run(&self, shape: Nhwc, input: &[f32], output: &mut [f32]) -> Result<()> {
        let pixels = self.check(shape, input.len(), output.len())?;
        self.call(pixels, input.as_ptr(), output.as_mut_ptr());
        Ok(())
    }

    /// Normalises `data` (shape `shape`) in place.
    pub fn run_in_place(&self, shape: Nhwc, data: &mut [f32]) -> Result<()> {
        let pixels = self.check(shape, data.len(), data.len())?;
        let p = data.as_mut_ptr();
        self.call(pixels, p, p);
        Ok(())
    }
}
