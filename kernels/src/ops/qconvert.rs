//! Conversions between f32 and u8 tensors and the INT8 global average pool, as validated
//! operators (per-tensor scale and zero point; see [`crate::quant`]).

use super::error::{Error, Result};
use super::shape::{Nhwc, check_buf, check_input, check_nonzero};
use crate::KernelTable;
use crate::quant::{AddRequant, HardSwish, QuantOut};
use crate::table::Slot;
use crate::ukernels::dequantize::{DequantizeArgs, DequantizeUkernel};
use crate::ukernels::qadd::{QaddArgs, QaddUkernel};
use crate::ukernels::qchscale::{QchscaleArgs, QchscaleUkernel};
use crate::ukernels::qgavgpool::{QgavgpoolArgs, QgavgpoolUkernel};
use crate::ukernels::quantize::{QuantizeArgs, QuantizeUkernel};

/// A per-tensor affine u8 quantization: `real = scale·(q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// Scale (finite, > 0).
    pub scale: f32,
    /// Zero point.
    pub zero_point: u8,
}

impl QuantParams {
    fn validate(self) -> Result<Self> {
        if self.scale.is_finite() && self.scale > 0.0 && (1.0 / self.scale).is_finite() {
            Ok(self)
        } else {
            Err(Error::InvalidArgument(format!(
                "quantization scale {} must be finite and positive (with a finite inverse)",
                self.scale
            )))
        }
    }
}

fn first<U>(slot: Slot<U>, what: &str) -> Result<&'static U> {
    slot.first()
        .copied()
        .ok_or_else(|| Error::Unsupported(format!("no {what} kernel")))
}

/// f32 → u8: `q = clamp(round_even(x / scale) + zero_point, 0, 255)`, NaN → 0.
pub struct Quantize {
    params: QuantParams,
    inv_scale: f32,
    uk: &'static QuantizeUkernel,
}

impl Quantize {
    /// Validates `params` and picks the kernel.
    pub fn new(params: QuantParams, table: &KernelTable) -> Result<Self> {
        let params = params.validate()?;
        Ok(Quantize {
            params,
            inv_scale: 1.0 / params.scale,
            uk: first(table.quantize(), "quantize")?,
        })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    /// Quantizes `input` into `output` (equal lengths).
    pub fn run(&self, input: &[f32], output: &mut [u8]) -> Result<()> {
        check_buf("output", output.len(), input.len())?;
        let args = QuantizeArgs {
            input: input.as_ptr(),
            output: output.as_mut_ptr(),
            n: input.len(),
            inv_scale: self.inv_scale,
            zero_point: self.params.zero_point.into(),
        };
        // SAFETY: `n` floats readable, `n` bytes writable (checked), distinct borrows; the
        // kernel's ISA is in the table the op came from.
        unsafe { (self.uk.func)(&args) };
        Ok(())
    }
}

/// u8 → f32: `x = (q − zero_point)·scale`.
pub struct Dequantize {
    params: QuantParams,
    uk: &'static DequantizeUkernel,
}

impl Dequantize {
    /// Validates `params` and picks the kernel.
    pub fn new(params: QuantParams, table: &KernelTable) -> Result<Self> {
        Ok(Dequantize {
            params: params.validate()?,
            uk: first(table.dequantize(), "dequantize")?,
        })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    /// Dequantizes `input` into `output` (equal lengths).
    pub fn run(&self, input: &[u8], output: &mut [f32]) -> Result<()> {
        check_buf("output", output.len(), input.len())?;
        let args = DequantizeArgs {
            input: input.as_ptr(),
            output: output.as_mut_ptr(),
            n: input.len(),
            scale: self.params.scale,
            zero_point: self.params.zero_point.into(),
        };
        // SAFETY: `n` bytes readable, `n` floats writable (checked), distinct borrows; the
        // kernel's ISA is in the table the op came from.
        unsafe { (self.uk.func)(&args) };
        Ok(())
    }
}

/// `y = a + b` over u8 tensors with their own quantizations, requantized to `out` (a residual
/// connection); optionally clamped (`clamp` as output bytes, e.g. a fused ReLU).
pub struct QuantAdd {
    a: QuantParams,
    b: QuantParams,
    out: QuantOut,
    rq: AddRequant,
    uk: &'static QaddUkernel,
}

impl QuantAdd {
    /// Validates the quantizations and picks the kernel; `out.zero_point` is the output's zero
    /// point and `out.min..=out.max` its clamp (no hard-swish), `out_scale` its scale.
    pub fn new(
        a: QuantParams,
        b: QuantParams,
        out_scale: f32,
        out: QuantOut,
        table: &KernelTable,
    ) -> Result<Self> {
        let (a, b) = (a.validate()?, b.validate()?);
        let s_out = QuantParams {
            scale: out_scale,
            zero_point: out.zero_point,
        }
        .validate()?
        .scale;
        if out.validate()?.hswish != HardSwish::OFF {
            return Err(Error::InvalidArgument(
                "INT8 addition fuses no hard-swish".into(),
            ));
        }
        let ratio = |s: f32| f64::from(s) / f64::from(s_out);
        Ok(QuantAdd {
            a,
            b,
            out,
            rq: AddRequant::from_ratios(ratio(a.scale), ratio(b.scale))?,
            uk: first(table.qadd(), "INT8 add")?,
        })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    /// `y = a + b` over equal-length tensors.
    pub fn run(&self, a: &[u8], b: &[u8], y: &mut [u8]) -> Result<()> {
        check_buf("b", b.len(), a.len())?;
        check_buf("output", y.len(), a.len())?;
        self.call(a.as_ptr(), b.as_ptr(), y.as_mut_ptr(), a.len());
        Ok(())
    }

    /// `b ← a + b` in place (the residual `a` added into the block output `b`).
    pub fn run_into(&self, a: &[u8], b: &mut [u8]) -> Result<()> {
        check_buf("b", b.len(), a.len())?;
        self.call(a.as_ptr(), b.as_ptr(), b.as_mut_ptr(), a.len());
        Ok(())
    }

    fn call(&self, a: *const u8, b: *const u8, y: *mut u8, n: usize) {
        let args = QaddArgs {
            a,
            b,
            output: y,
            n,
            a_zero_point: self.a.zero_point.into(),
            b_zero_point: self.b.zero_point.into(),
            a_mult: self.rq.a_mult,
            b_mult: self.rq.b_mult,
            shift: self.rq.shift,
            out_zero_point: self.out.zero_point.into(),
            out_min: self.out.min.into(),
            out_max: self.out.max.into(),
        };
        // SAFETY: callers checked `n` readable bytes at `a` and `b` and `n` writable at `y`
        // (which may alias `b`: the kernel reads each element before writing it); the
        // multipliers come from `AddRequant::from_ratios`; the kernel's ISA is in the table.
        unsafe { (self.uk.func)(&args) };
    }
}

/// The most pixels an INT8 global pool sums exactly in f32 (`255·pixels < 2²⁴`).
pub const MAX_POOL_PIXELS: usize = 65_793;

/// INT8 global average pool of each NHWC u8 image to f32 channel means (dequantized).
pub struct QuantGlobalAvgPool {
    channels: usize,
    params: QuantParams,
    uk: &'static QgavgpoolUkernel,
}

impl QuantGlobalAvgPool {
    /// Validates the arguments and picks the kernel.
    pub fn new(channels: usize, params: QuantParams, table: &KernelTable) -> Result<Self> {
        check_nonzero("channels", channels)?;
        Ok(QuantGlobalAvgPool {
            channels,
            params: params.validate()?,
            uk: first(table.qgavgpool(), "INT8 global average pool")?,
        })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    /// Pools each image of `input` (shape `shape`) into `channels` floats of `output`.
    pub fn run(&self, shape: Nhwc, input: &[u8], output: &mut [f32]) -> Result<()> {
        check_input(shape, self.channels)?;
        let pixels = shape.h * shape.w;
        if pixels > MAX_POOL_PIXELS {
            return Err(Error::InvalidArgument(format!(
                "INT8 global pool over {pixels} pixels (at most {MAX_POOL_PIXELS})"
            )));
        }
        check_buf("input", input.len(), shape.len()?)?;
        check_buf("output", output.len(), shape.n * self.channels)?;
        let img = pixels * self.channels;
        for b in 0..shape.n {
            let args = QgavgpoolArgs {
                input: input[b * img..].as_ptr(),
                pixels,
                channels: self.channels,
                output: output[b * self.channels..].as_mut_ptr(),
                zero_sum: pixels as i32 * i32::from(self.params.zero_point),
                scale: self.params.scale / pixels as f32,
            };
            // SAFETY: image `b` holds `pixels·channels` bytes and its output `channels` floats
            // (checked above); 1 ≤ pixels ≤ MAX_POOL_PIXELS; the kernel's ISA is in the table.
            unsafe { (self.uk.func)(&args) };
        }
        Ok(())
    }
}

/// INT8 per-channel scale (a squeeze-excitation gate) of one NHWC u8 image, in place:
/// `y = clamp(round_even((x − z_in)·m[c]) + z_out, 0, 255)` with the f32 multiplier
/// `m[c] = gate[c]·(s_in/s_out)`: the quantized gated value, with no f32 tensor in between.
pub struct QuantChannelScale {
    channels: usize,
    input: QuantParams,
    output: QuantParams,
    uk: &'static QchscaleUkernel,
}

impl QuantChannelScale {
    /// Validates the arguments and picks the kernel: `input` and `output` are the
    /// quantizations before and after the scale.
    pub fn new(
        channels: usize,
        input: QuantParams,
        output: QuantParams,
        table: &KernelTable,
    ) -> Result<Self> {
        check_nonzero("channels", channels)?;
        Ok(QuantChannelScale {
            channels,
            input: input.validate()?,
            output: output.validate()?,
            uk: first(table.qchscale(), "INT8 channel scale")?,
        })
    }

    /// Id of the chosen kernel.
    pub fn kernel_id(&self) -> &'static str {
        self.uk.id
    }

    /// Scales the single image `data` (shape `shape`, `shape.n == 1`) by `gate` (one float
    /// per channel) in place; `mult` is `channels` floats of scratch for the multipliers.
    pub fn run(&self, shape: Nhwc, data: &mut [u8], gate: &[f32], mult: &mut [f32]) -> Result<()> {
        check_input(shape, self.channels)?;
        if shape.n != 1 {
            return Err(Error::InvalidArgument(format!(
                "INT8 channel scale takes one image, not {}",
                shape.n
            )));
        }
        check_buf("data", data.len(), shape.len()?)?;
        check_buf("gate", gate.len(), self.channels)?;
        check_buf("multipliers", mult.len(), self.channels)?;
        let ratio = self.input.scale / self.output.scale;
        for (m, g) in mult.iter_mut().zip(gate) {
            *m = g * ratio;
        }
        let p = data.as_mut_ptr();
        let args = QchscaleArgs {
            input: p,
            output: p,
            pixels: shape.h * shape.w,
            channels: self.channels,
            scale: mult.as_ptr(),
            in_zero_point: self.input.zero_point.into(),
            out_zero_point: self.output.zero_point.into(),
        };
        // SAFETY: `data` holds the image's `pixels·channels` bytes (in place is allowed) and
        // `mult` `channels` floats (checked above); the kernel's ISA is in the table.
        unsafe { (self.uk.func)(&args) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_pool_at_every_level() {
        let p = QuantParams {
            scale: 0.03,
            zero_point: 120,
        };
        let x: Vec<f32> = (0..77).map(|i| (i as f32 - 38.0) * 0.05).collect();
        for level in crate::isa::available().iter() {
            let t = KernelTable::with_isa(crate::IsaSet::up_to(level));
            let (q, d) = (
                Quantize::new(p, &t).unwrap(),
                Dequantize::new(p, &t).unwrap(),
            );
            let mut qx = vec![0u8; x.len()];
            q.run(&x, &mut qx).unwrap();
            assert_eq!(
                qx,
                crate::reference::quantize(&x, 1.0 / p.scale, p.zero_point)
            );
            let mut back = vec![0f32; x.len()];
            d.run(&qx, &mut back).unwrap();
            for (a, b) in x.iter().zip(&back) {
                assert!((a - b).abs() <= p.scale / 2.0 + 1e-6, "{a} vs {b}");
            }
            assert!(q.run(&x, &mut qx[1..]).is_err());
            let pool = QuantGlobalAvgPool::new(7, p, &t).unwrap();
            let shape = Nhwc::new(1, 1, 11, 7);
            let mut m = vec![0f32; 7];
            pool.run(shape, &qx[..77], &mut m).unwrap();
            let want = crate::reference::qgavgpool(&qx[..77], 11, 7, p.zero_point, p.scale / 11.0);
            assert_eq!(m, want);
            assert!(pool.run(shape, &qx[..76], &mut m).is_err());
            let pb = QuantParams {
                scale: 0.05,
                zero_point: 3,
            };
            let add = QuantAdd::new(p, pb, 0.06, QuantOut::linear(100), &t).unwrap();
            let mut sum = qx.clone();
            add.run_into(&qx, &mut sum).unwrap();
            for ((&a, &b), &s) in qx.iter().zip(&qx).zip(&sum) {
                let real = (f32::from(a) - 120.0) * 0.03 + (f32::from(b) - 3.0) * 0.05;
                let got = (f32::from(s) - 100.0) * 0.06;
                assert!(
                    (real.clamp(-6.0, 9.3) - got).abs() <= 0.031,
                    "{real} vs {got}"
                );
            }
        }
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY, 1e-45] {
            let p = QuantParams {
                scale: bad,
                zero_point: 0,
            };
            assert!(Quantize::new(p, KernelTable::best()).is_err(), "{bad}");
        }
    }
}
