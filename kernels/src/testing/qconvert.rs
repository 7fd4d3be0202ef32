//! Quantize, dequantize, INT8 add and INT8 global pooling kernels against their references: bit-exact.

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all};
use crate::quant::{AddRequant, HardSwish, QuantOut};
use crate::reference;
use crate::ukernels::dequantize::{DequantizeArgs, DequantizeUkernel};
use crate::ukernels::qadd::{QaddArgs, QaddUkernel};
use crate::ukernels::qchscale::{QchscaleArgs, QchscaleUkernel};
use crate::ukernels::qgavgpool::{QgavgpoolArgs, QgavgpoolUkernel};
use crate::ukernels::quantize::{QuantizeArgs, QuantizeUkernel};

/// One conversion problem: `n` values (for pooling: `pixels × channels`).
#[derive(Clone, Copy, Debug)]
pub struct ConvertProblem {
    /// Values (or pixels, for pooling).
    pub n: usize,
    /// Channels (pooling only).
    pub channels: usize,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Scale (quantize: its inverse is passed).
    pub scale: f32,
    /// Zero point.
    pub zero_point: u8,
    /// Data seed.
    pub seed: u64,
    /// Add NaN, ±∞, huge values and exact ties to the inputs (quantize).
    pub specials: bool,
}

/// Compares two equal-length results bit for bit.
fn same_bits<T: Copy + PartialEq + std::fmt::Debug>(
    want: &[T],
    got: &[T],
    eq: impl Fn(T, T) -> bool,
) -> Result<(), String> {
    match (0..want.len()).find(|&i| !eq(want[i], got[i])) {
        None => Ok(()),
        Some(i) => Err(format!("index {i}: got {:?}, want {:?}", got[i], want[i])),
    }
}

impl ConvertProblem {
    fn floats(&self) -> Vec<f32> {
        let mut rng = Rng::new(self.seed);
        let mut x = rng.vec(self.n, 300.0 * self.scale);
        if self.specials {
            let extra = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                3e38,
                -3e38,
                0.5,
                -0.5,
                1.5,
                2.5,
                -2.5,
            ];
            for (i, v) in x.iter_mut().enumerate() {
                if i % 3 == 0 {
                    *v = extra[(i / 3) % extra.len()] * if i % 2 == 0 { 1.0 } else { self.scale };
                }
            }
        }
        x
    }

    fn bytes(&self, len: usize) -> Vec<u8> {
        let mut rng = Rng::new(self.seed ^ 0x55);
        (0..len)
            .map(|_| ((rng.f32(1.0) + 1.0) * 127.9) as u8)
            .collect()
    }

    /// Runs a quantize kernel.
    pub fn check_quantize(&self, uk: &QuantizeUkernel) -> Result<(), String> {
        let inv = 1.0 / self.scale;
        let x = self.floats();
        let want = reference::quantize(&x, inv, self.zero_point);
        let x = Buf::new(&x, self.offset);
        let mut y = Guarded::<u8>::new(self.n, self.offset);
        let args = QuantizeArgs {
            input: x.ptr(),
            output: y.ptr(),
            n: self.n,
            inv_scale: inv,
            zero_point: self.zero_point.into(),
        };
        // SAFETY: buffers sized per the contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        same_bits(&want, y.region(), |a, b| a == b)
    }

    /// Runs a dequantize kernel.
    pub fn check_dequantize(&self, uk: &DequantizeUkernel) -> Result<(), String> {
        let q = self.bytes(self.n);
        let want = reference::dequantize(&q, self.scale, self.zero_point);
        let q = Buf::new(&q, self.offset);
        let mut y = Guarded::<f32>::new(self.n, self.offset);
        let args = DequantizeArgs {
            input: q.ptr(),
            output: y.ptr(),
            n: self.n,
            scale: self.scale,
            zero_point: self.zero_point.into(),
        };
        // SAFETY: buffers sized per the contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        same_bits(&want, y.region(), |a, b| a.to_bits() == b.to_bits())
    }

    /// Runs an INT8 global average pool kernel (`n` pixels).
    pub fn check_gavgpool(&self, uk: &QgavgpoolUkernel) -> Result<(), String> {
        let (px, c) = (self.n.max(1), self.channels);
        let q = self.bytes(px * c);
        let scale = self.scale / px as f32;
        let want = reference::qgavgpool(&q, px, c, self.zero_point, scale);
        let q = Buf::new(&q, self.offset);
        let mut y = Guarded::<f32>::new(c, self.offset);
        let args = QgavgpoolArgs {
            input: q.ptr(),
            pixels: px,
            channels: c,
            output: y.ptr(),
            zero_sum: px as i32 * i32::from(self.zero_point),
            scale,
        };
        // SAFETY: buffers sized per the contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        same_bits(&want, y.region(), |a, b| a.to_bits() == b.to_bits())
    }
}

impl ConvertProblem {
    /// Runs an INT8 per-channel scale kernel (`n` pixels; multipliers from the floats, with
    /// their specials; output zero point from the seed), out of place and in place.
    pub fn check_chscale(&self, uk: &QchscaleUkernel) -> Result<(), String> {
        let (px, c) = (self.n.max(1), self.channels);
        let q = self.bytes(px * c);
        let scale: Vec<f32> = {
            let mut f = ConvertProblem { n: c, ..*self }.floats();
            f.iter_mut().for_each(|g| *g /= 300.0 * self.scale);
            f
        };
        let z_out = (self.seed >> 8) as u8;
        let want = reference::qchscale(&q, c, self.zero_point, &scale, z_out);
        let (qb, sb) = (Buf::new(&q, self.offset), Buf::new(&scale, self.offset));
        let mut y = Guarded::<u8>::new(px * c, self.offset);
        let mut args = QchscaleArgs {
            input: qb.ptr(),
            output: y.ptr(),
            pixels: px,
            channels: c,
            scale: sb.ptr(),
            in_zero_point: self.zero_point.into(),
            out_zero_point: z_out.into(),
        };
        // SAFETY: buffers sized per the contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        same_bits(&want, y.region(), |a, b| a == b)?;
        let mut inplace = Guarded::<u8>::with_values(&q, self.offset);
        args.input = inplace.ptr();
        args.output = inplace.ptr();
        // SAFETY: as above; the kernel allows output == input.
        unsafe { (uk.func)(&args) };
        inplace.check(|_| false)?;
        same_bits(&want, inplace.region(), |a, b| a == b)
    }
}

fn edge_cases(step: usize, cb: usize) -> Vec<ConvertProblem> {
    let base = ConvertProblem {
        n: 0,
        channels: 1,
        offset: 0,
        scale: 0.05,
        zero_point: 128,
        seed: 3,
        specials: true,
    };
    [0, 1, step - 1, step, step + 1, 2 * step + 3]
        .into_iter()
        .flat_map(|n| {
            [1, cb - 1, cb, cb + 1, 2 * cb + 3]
                .into_iter()
                .map(move |c| ConvertProblem {
                    n,
                    channels: c.max(1),
                    offset: (n + c) % 4,
                    ..base
                })
        })
        .chain([ConvertProblem {
            n: 700,
            channels: 3,
            scale: 1.0,
            zero_point: 0,
            ..base
        }])
        .collect()
}

fn strategy(step: usize, cb: usize) -> impl Strategy<Value = ConvertProblem> {
    (
        0..3 * step + 2,
        1..=3 * cb,
        0usize..4,
        -12.0f32..4.0,
        any::<u8>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(n, channels, offset, e, zero_point, seed, specials)| ConvertProblem {
                n,
                channels,
                offset,
                scale: e.exp2(),
                zero_point,
                seed,
                specials,
            },
        )
}

/// The generated test of one quantize variant.
pub fn check_quantize(uk: &'static QuantizeUkernel) {
    let n = uk.tile.n;
    check_all(uk.id, uk.isa, edge_cases(n, 4), strategy(n, 4), |p| {
        p.check_quantize(uk)
    });
}

/// The generated test of one dequantize variant.
pub fn check_dequantize(uk: &'static DequantizeUkernel) {
    let n = uk.tile.n;
    check_all(uk.id, uk.isa, edge_cases(n, 4), strategy(n, 4), |p| {
        p.check_dequantize(uk)
    });
}

/// The generated test of one INT8 per-channel scale variant.
pub fn check_chscale(uk: &'static QchscaleUkernel) {
    let cb = uk.tile.cb;
    check_all(uk.id, uk.isa, edge_cases(4, cb), strategy(9, cb), |p| {
        p.check_chscale(uk)
    });
}

/// The generated test of one INT8 global average pool variant.
pub fn check_gavgpool(uk: &'static QgavgpoolUkernel) {
    let cb = uk.tile.cb;
    check_all(uk.id, uk.isa, edge_cases(4, cb), strategy(9, cb), |p| {
        p.check_gavgpool(uk)
    });
}

impl ConvertProblem {
    /// Runs an INT8 add kernel: `n` values, ratios from `scale` and `zero_point` (the output
    /// zero point and clamp are derived from the seed).
    pub fn check_add(&self, uk: &QaddUkernel) -> Result<(), String> {
        let (a, b) = (self.bytes(self.n), self.bytes(self.n + 1));
        let b = &b[1..];
        let (za, zb) = (self.zero_point, self.zero_point.wrapping_mul(7));
        let rq = AddRequant::from_ratios(f64::from(self.scale), 0.7 * f64::from(self.scale) + 0.01)
            .map_err(|e| e.to_string())?;
        let lo = (self.seed % 64) as u8;
        let out = QuantOut {
            zero_point: (self.seed >> 8) as u8,
            min: lo,
            max: lo.max((self.seed >> 16) as u8),
            hswish: HardSwish::OFF,
        };
        let want = reference::qadd(&a, b, za, zb, rq, out);
        let (a, b) = (Buf::new(&a, self.offset), Buf::new(b, self.offset));
        let mut y = Guarded::<u8>::new(self.n, self.offset);
        let args = QaddArgs {
            a: a.ptr(),
            b: b.ptr(),
            output: y.ptr(),
            n: self.n,
            a_zero_point: za.into(),
            b_zero_point: zb.into(),
            a_mult: rq.a_mult,
            b_mult: rq.b_mult,
            shift: rq.shift,
            out_zero_point: out.zero_point.into(),
            out_min: out.min.into(),
            out_max: out.max.into(),
        };
        // SAFETY: buffers sized per the contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        same_bits(&want, y.region(), |x, z| x == z)
    }
}

/// The generated test of one INT8 add variant.
pub fn check_add(uk: &'static QaddUkernel) {
    let n = uk.tile.n;
    check_all(uk.id, uk.isa, edge_cases(n, 4), strategy(n, 4), |p| {
        p.check_add(uk)
    });
}
