//! The INT8 quantization scheme: one rule, shared by every INT8 kernel and its reference.
//!
//! - **Weights**: signed 8-bit, symmetric, one scale per output channel:
//!   `w ≈ s_w[c]·q_w` with `q_w` in `-127..=127` (−128 is accepted too; kernels are exact for it).
//! - **Activations**: unsigned 8-bit, affine, one scale and zero point per tensor:
//!   `x ≈ s_x·(q_x − z_x)`, `q_x` and `z_x` in `0..=255`.
//! - **Accumulation**: exact in `i32`: `acc = bias_q + Σ (q_x − z_x)·q_w`, with the
//!   bias quantized at scale `s_x·s_w[c]`. Kernels fold `−z_x·Σ q_w` into the bias at packing
//!   and accumulate `Σ q_x·q_w` (wrapping `i32` arithmetic, exact whenever the true sum fits,
//!   which [`max_reduction`] bounds).
//! - **Requantization** to an output with scale `s_y` and zero point `z_y`, in f32 (as
//!   XNNPACK's "fp32" requantization): the per-channel multiplier `m = s_x·s_w[c]/s_y` is an
//!   `f32`, and with `lo = out_min − z_y`, `hi = out_max − z_y` (exact small floats)
//!
//!   `v = f32(acc)·m`, `y = z_y + round_even(clamp(v, lo, hi))`
//!
//!   where `f32(acc)` and the product round to nearest even (IEEE), as does the final
//!   rounding: **round to nearest, ties to even**, the rounding rule of every INT8 kernel
//!   except the residual add ([`AddRequant`], ties up). The clamp before the conversion keeps
//!   every ISA's float-to-int instruction in range, and as `lo`, `hi` are integers it equals
//!   clamping the result. Each step is one IEEE operation, so every ISA computes it
//!   bit-exactly (no fused multiply-add anywhere).
//! - **Activations fused by clamping**: ReLU is `out_min = z_y`, ReLU6 additionally
//!   `out_max = z_y + round(6/s_y)`.
//! - **Hard-swish fused in f32** ([`HardSwish`]): `hardswish(u) = u·clamp(u/6 + ½, 0, 1)`.
//!   With `v` the pre-activation in output steps (`u = v·s_y`) and `a = s_y/6`, the gate is
//!   `g = min(max(v·a + ½, 0), 1)` (a product, then a sum, each rounded) and `v·g` replaces
//!   `v` in the rule above. No table, no hidden scale.
//! - **Squeeze-excitation gates** (hard-sigmoid) are an INT8 FC layer whose bias carries the
//!   `+3` and whose output scale is `6/255`, so its clamped bytes `q` are the gate `q/255`.

use crate::ops::{Error, Result};

/// Checks a requantization multiplier `m = s_x·s_w/s_y`: positive and below 2³² (so
/// `f32(acc)·m` stays finite).
pub fn check_multiplier(m: f32) -> Result<f32> {
    if m > 0.0 && m < 4_294_967_296.0 {
        Ok(m)
    } else {
        Err(Error::InvalidArgument(format!(
            "requantization multiplier {m} is outside (0, 2^32)"
        )))
    }
}

/// Requantization of an addition `y = a + b` of two u8 tensors with scales `s_a`, `s_b` into
/// scale `s_y`: `y_q = z_y + ((a − z_a)·a_mult + (b − z_b)·b_mult + 2^(shift−1)) >> shift`
/// (the same ties-up rounding), with `a_mult ≈ (s_a/s_y)·2^shift` and `b_mult` likewise, both
/// below 2²¹, so `|sum| < 2³⁰` and adding the rounding term cannot overflow `i32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddRequant {
    /// Multiplier of `a − z_a`.
    pub a_mult: i32,
    /// Multiplier of `b − z_b`.
    pub b_mult: i32,
    /// Right shift, `1..=31`.
    pub shift: i32,
}

impl AddRequant {
    /// The multipliers for input/output scale ratios `ra = s_a/s_y` and `rb = s_b/s_y`, with
    /// the most precision (largest shift ≤ 31) that keeps both below 2²¹.
    ///
    /// Errors unless both ratios are finite, positive and below 2²⁰ (a larger ratio means an
    /// output scale too fine for the inputs).
    pub fn from_ratios(ra: f64, rb: f64) -> Result<AddRequant> {
        let ok = |r: f64| r.is_finite() && r > 0.0 && r < 2f64.powi(20);
        if !(ok(ra) && ok(rb)) {
            return Err(Error::InvalidArgument(format!(
                "addition scale ratios {ra}, {rb} must be positive and below 2^20"
            )));
        }
        let limit = 2f64.powi(21);
        let shift = (1..=31)
            .rev()
            .find(|&s| (ra.max(rb) * 2f64.powi(s)).round() < limit)
            .unwrap_or(1);
        let m = |r: f64| (r * 2f64.powi(shift)).round() as i32;
        Ok(AddRequant {
            a_mult: m(ra),
            b_mult: m(rb),
            shift,
        })
    }

    /// `((a − za)·a_mult + (b − zb)·b_mult + 2^(shift−1)) >> shift`, before the zero point and
    /// clamp.
    pub fn apply(self, a: i32, b: i32) -> i32 {
        let acc = i64::from(a) * i64::from(self.a_mult) + i64::from(b) * i64::from(self.b_mult);
        ((acc + (1i64 << (self.shift - 1))) >> self.shift) as i32
    }
}

/// Hard-swish fused into a requantizing epilogue (see the scheme above): the pre-activation
/// `v` (in output steps) becomes `v·min(max(v·slope + ½, 0), 1)`, `slope = s_y/6`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HardSwish {
    /// Whether the hard-swish is applied at all.
    pub enabled: bool,
    /// `s_y/6`: one output step as a fraction of the gate's `0..=6` range.
    pub slope: f32,
}

impl HardSwish {
    /// No hard-swish.
    pub const OFF: HardSwish = HardSwish {
        enabled: false,
        slope: 0.0,
    };

    /// The hard-swish for an output scale `out_scale` (finite, positive).
    pub fn new(out_scale: f32) -> Result<HardSwish> {
        if !(out_scale.is_finite() && out_scale > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "hard-swish output scale {out_scale} must be finite and positive"
            )));
        }
        Ok(HardSwish {
            enabled: true,
            slope: out_scale / 6.0,
        })
    }

    /// The hard-swish of `v` (in output steps); `v` itself when off.
    pub fn apply(self, v: f32) -> f32 {
        if !self.enabled {
            return v;
        }
        let g = (v * self.slope + 0.5).clamp(0.0, 1.0);
        v * g
    }
}

/// Output quantization of a kernel: zero point and clamp bounds (all in `0..=255`), after an
/// optional fused hard-swish.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantOut {
    /// Output zero point.
    pub zero_point: u8,
    /// Lowest output byte (`zero_point` for a fused ReLU, 0 for none).
    pub min: u8,
    /// Highest output byte.
    pub max: u8,
    /// Hard-swish applied to the requantized value first ([`HardSwish::OFF`] for none).
    pub hswish: HardSwish,
}

impl QuantOut {
    /// No activation: the full `0..=255` range.
    pub fn linear(zero_point: u8) -> Self {
        QuantOut {
            zero_point,
            min: 0,
            max: 255,
            hswish: HardSwish::OFF,
        }
    }

    /// Fused hard-swish: the full `0..=255` range.
    pub fn hard_swish(zero_point: u8, hswish: HardSwish) -> Self {
        QuantOut {
            hswish,
            ..QuantOut::linear(zero_point)
        }
    }

    /// Errors if the clamp range is empty (`min > max`) or the hard-swish constants are out
    /// of the ranges its kernels assume.
    pub fn validate(self) -> Result<Self> {
        if self.min > self.max {
            return Err(Error::InvalidArgument(format!(
                "output clamp {}..={} is empty",
                self.min, self.max
            )));
        }
        let hs = self.hswish;
        if hs.enabled && !(hs.slope.is_finite() && hs.slope > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "hard-swish slope {} must be finite and positive",
                hs.slope
            )));
        }
        Ok(self)
    }

    /// `clamp(zero_point + r, min, max)` for an integer-requantized value `r` (the add).
    pub fn offset(self, r: i32) -> u8 {
        r.saturating_add(i32::from(self.zero_point))
            .clamp(i32::from(self.min), i32::from(self.max)) as u8
    }

    /// The requantization rule: the output byte of accumulator `acc` with multiplier `m`.
    pub fn finish(self, acc: i32, m: f32) -> u8 {
        let zp = i32::from(self.zero_point);
        let (lo, hi) = (i32::from(self.min) - zp, i32::from(self.max) - zp);
        let v = self.hswish.apply(acc as f32 * m);
        let r = v.max(lo as f32).min(hi as f32).round_ties_even() as i32;
        (zp + r) as u8
    }
}

/// The longest reduction whose accumulators cannot overflow `i32` for any inputs: each term
/// `(q_x − z_x)·q_w` is at most `255·128` in magnitude, and the bias is bounded by `bias_max`.
pub fn max_reduction(bias_max: u32) -> usize {
    ((i32::MAX as u64 - u64::from(bias_max)) / (255 * 128)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_to_nearest_ties_even_and_clamped() {
        let out = QuantOut::linear(100);
        // m = 1/8: 4/8 = 0.5 → 0, 12/8 = 1.5 → 2, −12/8 → −2, 5/8 → 1; huge values clamp.
        let got: Vec<u8> = [4, -4, 12, -12, 3, 5, -5, i32::MAX, i32::MIN]
            .iter()
            .map(|&a| out.finish(a, 0.125))
            .collect();
        assert_eq!(got, [100, 100, 102, 98, 100, 101, 99, 255, 0]);
        let relu6 = QuantOut {
            min: 100,
            max: 130,
            ..out
        };
        assert_eq!([relu6.finish(-50, 1.0), relu6.finish(50, 1.0)], [100, 130]);
        assert!(check_multiplier(0.0).is_err() && check_multiplier(f32::NAN).is_err());
        assert!(check_multiplier(f32::INFINITY).is_err() && check_multiplier(5e9).is_err());
        assert_eq!(check_multiplier(3e-9).unwrap(), 3e-9);
    }

    #[test]
    fn hard_swish_follows_the_real_function() {
        let hs = |u: f64| u * (u + 3.0).clamp(0.0, 6.0) / 6.0;
        for s_out in [8.0f32 / 255.0, 0.2, 4.0, 0.002] {
            let h = HardSwish::new(s_out).unwrap();
            let out = QuantOut::hard_swish(60, h);
            for i in -3000..=3000 {
                let acc = i * 7;
                let m = 0.01f32;
                let u = f64::from(acc) * f64::from(m) * f64::from(s_out);
                let want = (hs(u) / f64::from(s_out) + 60.0).clamp(0.0, 255.0);
                let got = f64::from(out.finish(acc, m));
                assert!(
                    (got - want).abs() <= 0.5 + 1e-3,
                    "{s_out} {acc}: {got} vs {want}"
                );
            }
        }
        assert_eq!(HardSwish::OFF.apply(-7.5), -7.5);
        assert!(HardSwish::new(f32::NAN).is_err() && HardSwish::new(0.0).is_err());
        let bad = HardSwish {
            enabled: true,
            slope: f32::INFINITY,
        };
        assert!(QuantOut::hard_swish(0, bad).validate().is_err());
    }

    #[test]
    fn reduction_bound() {
        assert_eq!(max_reduction(0), 65_793);
    }
}
