//! Winograd F(2x2, 3x3) convolution: dense 3x3, stride 1, zero padding, NHWC.
//!
//! Each 2x2 output tile is `Aᵀ·[Σ_ci (G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A` over its 4x4 input tile `d`: 16
//! multiplies per tile and channel pair instead of 36 (2.25x fewer). The op transforms the
//! filters once at creation (generated `wgfilter` kernel) and packs each of the 16 transformed
//! positions as a `cin × cout` GEMM weight matrix. A run walks the tiles in chunks sized to
//! stay in L2: the `wgin` kernel transforms a chunk's input tiles into 16 planes, 16 GEMMs
//! (the pointwise micro-kernels) multiply each plane by its position's filters, and the `wgout`
//! kernel transforms the products back, adding bias (and residual) and applying the activation
//! as it stores. Tiles at the image edges read zeros outside the image and store only the
//! pixels inside it, so every H, W (odd, or smaller than a tile) is exact.
//!
//! # Error bound
//! The result is a linear function of the inputs computed with additions, subtractions, one
//! exact scaling by ¼, products and a `cin`-long accumulation: along any path at most
//! `cin + 12` roundings. Its error is therefore bounded like a sum of that many terms, but
//! measured against the magnitude of the *Winograd* computation on absolute values
//! (`Σ |Aᵀ|·(|G|·|g|·|Gᵀ| ⊙ |Bᵀ|·|d|·|B|)·|A|`, which exceeds the direct convolution's `Σ|w·x|`
//! because the transforms add and then cancel terms). The tests assert the crate's single
//! tolerance rule ([`crate::reference::Expected`]) with that magnitude and `cin + 12` terms.
//! NaN or infinity in an input tile reaches all four outputs of the tile (the transforms mix
//! every tap), where a direct convolution would spare the outputs that do not read it.

use super::error::{Error, Result};
use super::gemm_plan::GemmPlan;
use super::shape::{
    Nhwc, Padding, check_buf, check_input, check_len, check_nonzero, check_residual,
    check_row_request, per_image_rows, window_output,
};
use crate::ukernels::wgfilter::WgfilterArgs;
use crate::ukernels::wgin::{WginArgs, WginUkernel};
use crate::ukernels::wgout::{WgoutArgs, WgoutUkernel};
use crate::{Activation, KernelTable};

/// Floats of L2 the transformed tiles of one chunk aim to fit in (`16·chunk·(cin + cout)`).
const CHUNK_FLOATS: usize = 128 * 1024;

/// Describes a Winograd convolution (dense 3x3, stride 1).
#[derive(Clone, Copy, Debug)]
pub struct WinogradDesc<'a> {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Zero padding, any width up to [`super::shape::MAX_PADDING`] per side.
    pub padding: Padding,
    /// Weights `[cout][cin][3][3]` (PyTorch OIHW).
    pub weights: &'a [f32],
    /// Optional bias `[cout]`.
    pub bias: Option<&'a [f32]>,
    /// Fused activation.
    pub activation: Activation,
    /// Whether `run` adds a residual tensor (of the output's shape) before the activation.
    pub residual: bool,
}

/// A Winograd F(2x2, 3x3) convolution with transformed, packed filters.
pub struct Winograd3x3 {
    cin: usize,
    cout: usize,
    padding: Padding,
    residual: bool,
    bias: Vec<f32>,
    /// One GEMM (packed `cin × cout` filters) per transformed position.
    gemms: Vec<GemmPlan>,
    wgin: &'static WginUkernel,
    wgout: &'static WgoutUkernel,
    /// Tiles transformed together.
    chunk: usize,
}

impl Winograd3x3 {
    /// Validates `desc`, transforms and packs the filters, and picks the kernels from
    /// `table`.
    pub fn new(desc: &WinogradDesc<'_>, table: &KernelTable) -> Result<Self> {
        let (cin, cout) = (desc.cin, desc.cout);
        check_nonzero("cin", cin)?;
        check_nonzero("cout", cout)?;
        super::shape::check_padding(desc.padding)?;
        let n = cin
            .checked_mul(cout)
            .ok_or(Error::SizeOverflow("Winograd filters"))?;
        let taps = n
            .checked_mul(16)
            .ok_or(Error::SizeOverflow("Winograd filters"))?;
        check_len("weights", desc.weights.len(), n * 9)?;
        let bias = match desc.bias {
            Some(b) => {
                check_len("bias", b.len(), cout)?;
                b.to_vec()
            }
            None => vec![0.0; cout],
        };
        let what = || format!("Winograd 3x3 {}", desc.activation);
        let none = |k: &str| Error::Unsupported(format!("no {k} kernel for {}", what()));
        let wgin = *table
            .wgin()
            .first()
            .ok_or_else(|| none("input transform"))?;
        let wgfilter = *table
            .wgfilter()
            .first()
            .ok_or_else(|| none("filter transform"))?;
        let wgout = *table
            .wgout(desc.activation, desc.residual)
            .first()
            .ok_or_else(|| none("output transform"))?;
        // OIHW → 9 tap planes of `n` filters, each plane `[cout][cin]`.
        let mut g = vec![0.0f32; 9 * n];
        for (f, w) in desc.weights.chunks_exact(9).enumerate() {
            for (tap, &v) in w.iter().enumerate() {
                g[tap * n + f] = v;
            }
        }
        let mut u = vec![0.0f32; taps];
        let args = WgfilterArgs {
            g: g.as_ptr(),
            u: u.as_mut_ptr(),
            n,
        };
        // SAFETY: `g` holds 9·n and `u` 16·n floats (distinct allocations), `n ≥ 1`; the
        // kernel's ISA is in `table`, so the CPU supports it.
        unsafe { (wgfilter.func)(&args) };
        let slot = table.gemm(Activation::Linear, false);
        let gemms = u
            .chunks_exact(n)
            .map(|plane| GemmPlan::new(slot, &what(), cout, cin, plane, None))
            .collect::<Result<Vec<_>>>()?;
        let mr = gemms[0].main_mr();
        let chunk = (CHUNK_FLOATS / (16 * (cin + cout)))
            .max(2 * mr)
            .next_multiple_of(mr);
        Ok(Winograd3x3 {
            cin,
            cout,
            padding: desc.padding,
            residual: desc.residual,
            bias,
            gemms,
            wgin,
            wgout,
            chunk,
        })
    }

    /// The output shape for `input`.
    pub fn output_shape(&self, input: Nhwc) -> Result<Nhwc> {
        check_input(input, self.cin)?;
        window_output(input, 3, 3, 1, 1, self.padding, self.cout)
    }

    /// Floats of workspace `run` and `run_rows` need (fixed at creation).
    pub fn workspace_len(&self) -> usize {
        16 * self.chunk * (self.cin + self.cout)
    }

    /// Ids of the kernels used: input transform, GEMM, output transform.
    pub fn kernel_ids(&self) -> [&'static str; 3] {
        [self.wgin.id, self.gemms[0].kernel_id(), self.wgout.id]
    }

    /// Runs on every image of `input` (shape `input_shape`), writing `output`; `residual`
    /// (output-shaped) is required exactly when the op was created with `residual: true`.
    pub fn run(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        residual: Option<&[f32]>,
        workspace: &mut [f32],
    ) -> Result<Nhwc> {
        let out = self.output_shape(input_shape)?;
        check_residual(residual, self.residual, 0)?;
        per_image_rows(input_shape, out, input, output, residual, |one, x, y, r| {
            self.run_rows(one, x, y, 0..out.h, r, workspace)
        })?;
        Ok(out)
    }

    /// Computes output rows `rows` of one image (`input_shape.n == 1`) into `output`, which
    /// holds just those rows (`residual` likewise): lets callers split an image over threads.
    /// Ranges starting at an even row share no tile with their neighbours.
    pub fn run_rows(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: &mut [f32],
        rows: std::ops::Range<usize>,
        residual: Option<&[f32]>,
        workspace: &mut [f32],
    ) -> Result<()> {
        let out = self.output_shape(input_shape)?;
        let len = check_row_request(input_shape, input.len(), out, &rows, output.len())?;
        check_residual(residual, self.residual, len)?;
        check_buf("workspace", workspace.len(), self.workspace_len())?;
        let tiles_w = out.w.div_ceil(2);
        let first = rows.start / 2 * tiles_w;
        let end = rows.end.div_ceil(2) * tiles_w;
        let (v, m) = workspace.split_at_mut(16 * self.chunk * self.cin);
        let mut tile0 = first;
        while tile0 < end {
            let tiles = (end - tile0).min(self.chunk);
            let (ps_in, ps_out) = (tiles * self.cin, tiles * self.cout);
            let args = WginArgs {
                input: input.as_ptr(),
                in_h: input_shape.h,
                in_w: input_shape.w,
                cin: self.cin,
                pad_top: self.padding.top,
                pad_left: self.padding.left,
                tiles_w,
                tile0,
                tiles,
                v: v.as_mut_ptr(),
                plane_stride: ps_in,
            };
            // SAFETY: `input` holds the image (checked); `v` holds 16·chunk·cin ≥ 16·ps_in
            // floats; tiles lie in the output's tile grid; the ISA is in the creating table.
            unsafe { (self.wgin.func)(&args) };
            for (p, gemm) in self.gemms.iter().enumerate() {
                gemm.run(
                    tiles,
                    &v[p * ps_in..(p + 1) * ps_in],
                    self.cin,
                    &mut m[p * ps_out..(p + 1) * ps_out],
                    self.cout,
                    None,
                )?;
            }
            let args = WgoutArgs {
                m: m.as_ptr(),
                plane_stride: ps_out,
                bias: self.bias.as_ptr(),
                residual: residual.map_or(std::ptr::null(), <[f32]>::as_ptr),
                output: output.as_mut_ptr(),
                out_w: out.w,
                cout: self.cout,
                row_lo: rows.start,
                row_hi: rows.end,
                tiles_w,
                tile0,
                tiles,
            };
            // SAFETY: `m` holds the 16 product planes of these tiles; `bias` has `cout`
            // floats; `output` (and `residual`) hold `rows.len()·out_w·cout` floats (checked)
            // and only pixels in `rows` are stored; the ISA is in the creating table.
            unsafe { (self.wgout.func)(&args) };
            tile0 += tiles;
        }
        Ok(())
    }
}
