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
//! - **Requantization** to an output with scale `s_y` and zero point `z_y`: the real
//!   multiplier `S = s_x·s_w[c] / s_y` (in `(0, 2²²)`) is stored as a pre-shift `pre` in
//!   `0..=24`, an `i32` `mult < 2³¹` and a shift `n = 32 + shift − pre` (`shift` in
//!   `1..=31`) with `S ≈ mult·2⁻ⁿ` (31 significant bits). The result is
//!
//!   `y = clamp(z_y + ((high32(sat(acc·2^pre)·mult) + 2^(shift−1)) >> shift), out_min, out_max)`
//!
//!   where `sat` clamps to `i32`, `high32` is the upper half of the exact 64-bit product and
//!   `>>` is an arithmetic shift. This equals `⌊acc·mult/2ⁿ + ½⌋`: **round to nearest, ties
//!   toward +∞**, the single rounding rule of the library (the low 32 bits that `high32` drops
//!   cannot change the result because `shift ≥ 1`; `pre > 0` only when `S ≥ 0.25`, and then
//!   `sat` changes only accumulators so large that the output saturates either way). It
//!   needs only 32-bit lanes after one widening multiply, so every ISA computes it
//!   bit-exactly.
//! - **Activations fused by clamping**: ReLU is `out_min = z_y`, ReLU6 additionally
//!   `out_max = z_y + round(6/s_y)`.
//! - **Hard-swish fused in integers** ([`HardSwish`]): `hardswish(v) = v·relu6(v + 3)/6`.
//!   The accumulator is requantized (the rule above) to a fine *hidden* scale `s_h` (2¹⁷
//!   steps over the calibrated range) and clamped to `x` in `±(2²⁰−1)`; the gate
//!   `g = clamp(rule(x·s_h·G/6) + G/2, 0, G)` is `relu6(v + 3)` in steps of `6/G`
//!   (`G = 1024`); then `y = z_y + rule(x·g·s_h/(G·s_y))`. Integer products are exact
//!   (`|x·g| < 2³¹`) and every rounding is the same rule.
//! - **Squeeze-excitation gates** (hard-sigmoid) are an INT8 FC layer whose bias carries the
//!   `+3` and whose output scale is `6/255`, so its clamped bytes `q` are the gate `q/255`.

use crate::ops::{Error, Result};

/// A requantization multiplier: `S ≈ mult·2^-(32 + shift − pre)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    /// Multiplier, `0 ≤ mult < 2³¹`.
    pub mult: i32,
    /// Post-shift after taking the high 32 bits, `1..=31`.
    pub shift: i32,
    /// Saturating left shift of the accumulator first, `0..=24` (non-zero only for
    /// `S ≥ 0.25`).
    pub pre: i32,
}

impl Requant {
    /// The multiplier closest to `scale` with the most precision the rule allows.
    ///
    /// Errors unless `0 < scale < 2²²` and finite. Scales below `2⁻⁶³` round to a zero
    /// multiplier (every output is then the zero point).
    pub fn from_scale(scale: f64) -> Result<Requant> {
        if !(scale.is_finite() && scale > 0.0 && scale < 2f64.powi(22)) {
            return Err(Error::InvalidArgument(format!(
                "requantization scale {scale} is outside (0, 2^22)"
            )));
        }
        // Smallest pre-shift bringing the scale below 0.25, then the largest total shift
        // n ≤ 63 with round(scale'·2ⁿ) < 2³¹.
        let pre = (0..=24)
            .find(|&p| scale / 2f64.powi(p) < 0.25)
            .expect("scale < 2^22");
        let reduced = scale / 2f64.powi(pre);
        for shift in (1..=31).rev() {
            let mult = (reduced * 2f64.powi(32 + shift)).round();
            if mult < 2f64.powi(31) {
                return Ok(Requant {
                    mult: mult as i32,
                    shift,
                    pre,
                });
            }
        }
        unreachable!("shift 1 gives scale·2³³ < 2³¹ for scale < 0.25")
    }

    /// The real multiplier this represents.
    pub fn scale(self) -> f64 {
        self.mult as f64 * 2f64.powi(self.pre - 32 - self.shift)
    }

    /// The rounding addend `2^(shift−1)`.
    pub fn rounding(self) -> i32 {
        1 << (self.shift - 1)
    }

    /// `(high32(sat(acc·2^pre)·mult) + 2^(shift−1)) >> shift`, before the zero point and
    /// clamp.
    pub fn apply(self, acc: i32) -> i32 {
        let wide = (i64::from(acc) << self.pre).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        let high = (wide * i64::from(self.mult)) >> 32;
        // |high| < 2³⁰ and the rounding addend ≤ 2³⁰: no overflow.
        ((high + i64::from(self.rounding())) >> self.shift) as i32
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

/// Hard-swish fused into a requantizing epilogue (see the scheme above). The kernel's
/// per-channel requantization yields `x` at a fine hidden scale `s_h`, clamped to
/// `±X_MAX`; the gate `g = clamp(gate(x) + G/2, 0, G)` is `relu6(v + 3)` at scale `6/G`;
/// the output before its zero point is `out(x·g)` (`|x·g| < 2³¹`). `gate` and `out` follow
/// the requantization rule without pre-shifts.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardSwish {
    /// Whether the hard-swish is applied at all.
    pub enabled: bool,
    /// `x` to gate units: `s_h·G/6`.
    pub gate: Requant,
    /// `x·g` to output units: `s_h/(G·s_y)`.
    pub out: Requant,
}

impl HardSwish {
    /// No hard-swish.
    pub const OFF: HardSwish = HardSwish {
        enabled: false,
        gate: Requant {
            mult: 0,
            shift: 1,
            pre: 0,
        },
        out: Requant {
            mult: 0,
            shift: 1,
            pre: 0,
        },
    };
    /// Gate steps over `relu6`'s `0..=6` (`6/G ≈ 0.006` per step).
    pub const G: i32 = 1024;
    /// Largest hidden magnitude kept: `X_MAX·G < 2³¹`.
    pub const X_MAX: i32 = (1 << 20) - 1;

    /// The hard-swish for pre-activations up to `max_abs` in magnitude (beyond them, 8x
    /// headroom where the scale allows) and an output scale `out_scale`; returns it and the
    /// hidden scale the preceding requantization must target.
    pub fn new(max_abs: f32, out_scale: f32) -> Result<(HardSwish, f64)> {
        if !(max_abs.is_finite() && out_scale.is_finite() && out_scale > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "hard-swish range {max_abs} / output scale {out_scale} must be finite and positive"
            )));
        }
        let max = f64::from(max_abs.abs()).max(1e-30);
        let x_max = f64::from(Self::X_MAX);
        let g = f64::from(Self::G);
        // The gate multiplier must stay below 0.25 (no pre-shift).
        let hidden = (8.0 * max / x_max).min(0.24 * 6.0 / g);
        if x_max * hidden < max {
            return Err(Error::InvalidArgument(format!(
                "hard-swish pre-activations up to {max_abs} exceed the INT8 range (about {:.0})",
                x_max * hidden
            )));
        }
        let gate = Requant::from_scale(hidden * g / 6.0)?;
        let out = Requant::from_scale(hidden / (g * f64::from(out_scale)))?;
        if out.pre != 0 || out.mult == 0 {
            return Err(Error::InvalidArgument(format!(
                "hard-swish output scale {out_scale} does not suit pre-activations up to {max_abs}"
            )));
        }
        let hs = HardSwish {
            enabled: true,
            gate,
            out,
        };
        Ok((hs, hidden))
    }

    /// The hard-swish of a value `r` at the hidden scale, requantized to the output (before
    /// the zero point); `r` itself when off.
    pub fn apply(self, r: i32) -> i32 {
        if !self.enabled {
            return r;
        }
        let x = r.clamp(-Self::X_MAX, Self::X_MAX);
        let g = (self.gate.apply(x) + Self::G / 2).clamp(0, Self::G);
        self.out.apply(x * g)
    }
}

/// Output quantization of a kernel: zero point and clamp bounds (all in `0..=255`), after an
/// optional fused hard-swish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        let ok = |r: Requant| r.mult >= 0 && (1..=31).contains(&r.shift) && r.pre == 0;
        if !(ok(self.hswish.gate) && ok(self.hswish.out)) {
            return Err(Error::InvalidArgument(format!(
                "hard-swish constants {:?} are out of range",
                self.hswish
            )));
        }
        Ok(self)
    }

    /// `clamp(zero_point + hswish(v), min, max)` for a requantized value `v`.
    pub fn finish(self, v: i32) -> u8 {
        self.hswish
            .apply(v)
            .saturating_add(i32::from(self.zero_point))
            .clamp(i32::from(self.min), i32::from(self.max)) as u8
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
    fn multipliers_round_trip_and_bad_scales_are_errors() {
        for s in [3e6, 1.0, 0.25, 0.2499, 0.1, 1e-3, 3.7e-5, 1e-12] {
            let r = Requant::from_scale(s).unwrap();
            // Within half a unit of the multiplier's last place.
            let ulp = 2f64.powi(r.pre - 32 - r.shift);
            assert!((r.scale() - s).abs() <= ulp / 2.0, "{s} -> {r:?}");
            assert!((1..=31).contains(&r.shift) && r.mult >= 0 && (0..=24).contains(&r.pre));
            assert_eq!(r.pre > 0, s >= 0.25, "{s} -> {r:?}");
        }
        for s in [5e6, 0.0, -1e-3, f64::NAN, f64::INFINITY] {
            assert!(Requant::from_scale(s).is_err(), "{s}");
        }
    }

    #[test]
    fn rounding_is_to_nearest_ties_up() {
        // scale 1/8: 4/8 = 0.5 → 1, −4/8 = −0.5 → 0, 12/8 = 1.5 → 2, −12/8 → −1, 3/8 → 0, 5/8 → 1.
        let r = Requant::from_scale(0.125).unwrap();
        let got: Vec<i32> = [4, -4, 12, -12, 3, 5, -5, i32::MAX, i32::MIN]
            .iter()
            .map(|&a| r.apply(a))
            .collect();
        assert_eq!(got, [1, 0, 2, -1, 0, 1, -1, 268_435_456, -268_435_456]);
        for acc in [-1000, -7, 0, 7, 999_999] {
            assert_eq!(
                r.apply(acc),
                crate::simd::scalar::requant(acc, r.mult, r.rounding(), r.shift)
            );
        }
        // Scale 3: pre-shift 4; small accumulators exact, huge ones saturate.
        let r = Requant::from_scale(3.0).unwrap();
        assert_eq!(r.pre, 4);
        assert_eq!([r.apply(5), r.apply(-5), r.apply(0)], [15, -15, 0]);
        assert!(r.apply(i32::MAX) > 1 << 20 && r.apply(i32::MIN) < -(1 << 20));
        let r = Requant::from_scale(0.5).unwrap();
        assert_eq!([r.apply(1), r.apply(-1), r.apply(3)], [1, 0, 2]);
    }

    #[test]
    fn hard_swish_follows_the_real_function() {
        let hs = |v: f64| v * (v + 3.0).clamp(0.0, 6.0) / 6.0;
        let cases = [
            (4.0f32, 8.0 / 255.0),
            (40.0, 0.2),
            (1000.0, 4.0),
            (0.5, 0.002),
            (3e-5, 1.2e-7),
        ];
        for (max_abs, s_out) in cases {
            let (h, hidden) = HardSwish::new(max_abs, s_out).unwrap();
            assert!(f64::from(HardSwish::X_MAX) * hidden >= f64::from(max_abs));
            // Rounding of the output plus the gate's step (6/G, half of it, times |v|/6).
            let tol = 0.5 + f64::from(max_abs) / f64::from(HardSwish::G) / f64::from(s_out) / 2.0;
            for i in -2000..=2000 {
                let v = f64::from(max_abs) * f64::from(i) / 2000.0;
                let r = (v / hidden).round() as i32;
                let want = hs(f64::from(r) * hidden) / f64::from(s_out);
                let got = f64::from(h.apply(r));
                assert!((got - want).abs() <= tol, "{max_abs} {v}: {got} vs {want}");
            }
            // Far past the hidden range: clamped, finite.
            assert!(h.apply(i32::MAX) > 0 && h.apply(i32::MIN) <= 0);
        }
        assert_eq!(HardSwish::OFF.apply(-7), -7);
        assert!(HardSwish::new(f32::NAN, 1.0).is_err() && HardSwish::new(3.0, 0.0).is_err());
        assert!(
            HardSwish::new(1e5, 400.0).is_err(),
            "beyond the hidden range"
        );
        assert!(HardSwish::new(3.0, 1e-9).is_err(), "output scale too fine");
        let mut bad = HardSwish::new(3.0, 0.02).unwrap().0;
        bad.out.pre = 2;
        assert!(QuantOut::hard_swish(0, bad).validate().is_err());
    }

    #[test]
    fn reduction_bound() {
        assert_eq!(max_reduction(0), 65_793);
    }
}
