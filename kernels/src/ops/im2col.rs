//! Dense KxK convolution of any window and stride as a GEMM over gathered patches (im2col):
//! the ResNet 7x7 stride-2 stem and 1x1 stride-2 downsampling, and any other dense window the
//! direct and Winograd kernels do not cover.
//!
//! Output pixels are processed in chunks: their `K·K·cin` input patches (zeros outside the
//! image, `[ky][kx][ci]` order) are copied into the workspace, then one GEMM with the packed
//! `[cout][ky][kx][ci]` weights writes the chunk's output rows with bias and activation fused.
//! The gather is plain safe code (a copy of `cin` floats per tap); the arithmetic is the
//! pointwise GEMM micro-kernels'.

use super::error::{Error, Result};
use super::gemm_plan::GemmPlan;
use super::shape::{Nhwc, Padding, check_input, check_nonzero, product, window_output};
use crate::{Activation, KernelTable};

/// Floats of workspace one chunk of patches aims to fill (about 256 KiB, half of L2).
const CHUNK_FLOATS: usize = 64 * 1024;

/// A dense convolution as patches × packed weights.
pub(crate) struct Im2col {
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: Padding,
    plan: GemmPlan,
    /// Output pixels gathered together.
    chunk: usize,
}

impl Im2col {
    /// Packs OIHW `weights` (`cout × cin × k × k`) for `activation`; validated by the caller
    /// except for the weight and bias lengths.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: Padding,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        table: &KernelTable,
    ) -> Result<Self> {
        check_nonzero("kernel", k)?;
        let taps = product(&[k, k, cin], "convolution patch")?;
        let len = product(&[cout, taps], "convolution weights")?;
        if weights.len() != len {
            return Err(Error::LengthMismatch {
                what: "weights",
                expected: len,
                actual: weights.len(),
            });
        }
        // OIHW → [cout][ky][kx][ci], the patch order.
        let mut w = vec![0.0f32; len];
        for o in 0..cout {
            for ci in 0..cin {
                for t in 0..k * k {
                    w[o * taps + t * cin + ci] = weights[(o * cin + ci) * k * k + t];
                }
            }
        }
        let slot = table.gemm(activation, false);
        let what = format!("{k}x{k} convolution (im2col) {activation}");
        let plan = GemmPlan::new(slot, &what, cout, taps, &w, bias)?;
        let mr = plan.main_mr();
        let chunk = (CHUNK_FLOATS / taps).max(mr).next_multiple_of(mr);
        Ok(Im2col {
            cin,
            cout,
            k,
            stride,
            padding,
            plan,
            chunk,
        })
    }

    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        let (k, s) = (self.k, self.stride);
        window_output(input, k, k, s, s, self.padding, self.cout)
    }

    pub fn kernel_id(&self) -> &'static str {
        self.plan.kernel_id()
    }

    /// Floats of workspace a run needs.
    pub fn workspace_len(&self) -> usize {
        self.chunk * self.k * self.k * self.cin
    }

    /// Computes output rows `rows` of one image into `output` (just those rows); the caller
    /// has validated the shapes and buffer lengths.
    pub fn run_rows(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        rows: std::ops::Range<usize>,
        workspace: &mut [f32],
    ) -> Result<()> {
        let out = self.output_shape(input_shape)?;
        let taps = self.k * self.k * self.cin;
        let first = rows.start * out.w;
        let pixels = rows.len() * out.w;
        let mut done = 0;
        while done < pixels {
            let m = (pixels - done).min(self.chunk);
            let patches = &mut workspace[..m * taps];
            for (i, patch) in patches.chunks_exact_mut(taps).enumerate() {
                let px = first + done + i;
                self.gather(input_shape, input, px / out.w, px % out.w, patch);
            }
            let c = &mut output[done * self.cout..(done + m) * self.cout];
            self.plan.run(m, patches, taps, c, self.cout, None)?;
            done += m;
        }
        Ok(())
    }

    /// Copies the input patch of output pixel `(oy, ox)` into `patch` (zeros outside).
    fn gather(&self, shape: Nhwc, input: &[f32], oy: usize, ox: usize, patch: &mut [f32]) {
        let (k, c) = (self.k, self.cin);
        let iy0 = (oy * self.stride) as isize - self.padding.top as isize;
        let ix0 = (ox * self.stride) as isize - self.padding.left as isize;
        for (ky, row) in patch.chunks_exact_mut(k * c).enumerate() {
            let iy = iy0 + ky as isize;
            if iy < 0 || iy >= shape.h as isize {
                row.fill(0.0);
                continue;
            }
            let line = &input[iy as usize * shape.w * c..(iy as usize + 1) * shape.w * c];
            for (kx, tap) in row.chunks_exact_mut(c).enumerate() {
                let ix = ix0 + kx as isize;
                if ix < 0 || ix >= shape.w as isize {
                    tap.fill(0.0);
                } else {
                    tap.copy_from_slice(&line[ix as usize * c..(ix as usize + 1) * c]);
                }
            }
        }
    }
}
