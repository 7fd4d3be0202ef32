//! Activation ranges for INT8 quantization, measured by running the f32 network on sample
//! images ([`Network::observe`]).
//!
//! - [`RangeMethod::MinMax`]: the observed minimum and maximum of each tensor over all images.
//! - [`RangeMethod::Percentile`]`(p)`: the `(100 − p)`-th and `p`-th percentiles of each
//!   tensor's values over all images (a second pass fills a 4096-bin histogram over the
//!   min/max range), so a few outliers do not stretch the scale. Ranges of non-negative tensors
//!   keep 0 as their lower end.
//! - [`RangeMethod::Mse`]: the range that minimises the expected squared error of the
//!   quantized tensor over the same histogram: clipping error `Σ (x − clamp(x))²` outside
//!   plus rounding noise `Δ²/12` per value inside (`Δ = (hi − lo)/255`; exact zeros, which
//!   quantize exactly, excluded), searched over a grid of clip points.
//!
//! Every range is widened to contain 0, so real zero (padding, ReLU floors) is exact.

use std::collections::BTreeMap;

use ruvector_cnn_kernels::ops::{Nhwc, QuantParams};

use crate::error::{Error, Result};
use crate::network::{Network, Workspace};

/// How a tensor's range is chosen from its observed values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RangeMethod {
    /// Observed minimum and maximum.
    MinMax,
    /// Symmetric percentile clipping, e.g. `Percentile(99.99)`.
    Percentile(f64),
    /// The range of least expected squared quantization error.
    Mse,
}

impl RangeMethod {
    /// Parses `minmax`, `mse` or `percentile[:P]` (default P = 99.99).
    pub fn parse(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "minmax" => Ok(RangeMethod::MinMax),
            None if s == "mse" => Ok(RangeMethod::Mse),
            None if s == "percentile" => Ok(RangeMethod::Percentile(99.99)),
            Some(("percentile", p)) => match p.parse::<f64>() {
                Ok(p) if p > 50.0 && p <= 100.0 => Ok(RangeMethod::Percentile(p)),
                _ => Err(Error::InvalidArgument(format!(
                    "percentile {p}: expected a number in (50, 100]"
                ))),
            },
            _ => Err(Error::InvalidArgument(format!(
                "calibration method {s:?}: expected minmax, mse or percentile[:P]"
            ))),
        }
    }
}

/// The real range `[lo, hi]` (containing 0) of every quantized activation, by the names of
/// [`Network::observe`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ranges {
    map: BTreeMap<String, (f32, f32)>,
}

impl Ranges {
    /// The range of `name`, or an error naming the missing tensor.
    pub fn get(&self, name: &str) -> Result<(f32, f32)> {
        self.map.get(name).copied().ok_or_else(|| {
            Error::InvalidArgument(format!("calibration has no range for activation `{name}`"))
        })
    }

    /// The affine u8 quantization of `name`: scale `(hi − lo)/255` (at least 1e-8/255) and the
    /// zero point that maps real 0 exactly.
    pub fn params(&self, name: &str) -> Result<QuantParams> {
        let (lo, hi) = self.get(name)?;
        let scale = (hi - lo).max(1e-8) / 255.0;
        Ok(QuantParams {
            scale,
            zero_point: (-lo / scale).round().clamp(0.0, 255.0) as u8,
        })
    }

    /// Sets the range of `name` (widened to contain 0).
    pub fn set(&mut self, name: &str, lo: f32, hi: f32) {
        self.map
            .insert(name.to_string(), (lo.min(0.0), hi.max(0.0)));
    }

    /// Every `(name, (lo, hi))`, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, (f32, f32))> {
        self.map.iter().map(|(k, &v)| (k.as_str(), v))
    }

    /// Serialises as `name=lo,hi;…` (for safetensors metadata).
    pub fn to_text(&self) -> String {
        self.map
            .iter()
            .map(|(k, (lo, hi))| format!("{k}={lo:e},{hi:e}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Parses [`Ranges::to_text`] output.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut r = Ranges::default();
        for item in text.split(';').filter(|s| !s.is_empty()) {
            let bad = || Error::Format(format!("bad activation range entry {item:?}"));
            let (name, vals) = item.split_once('=').ok_or_else(bad)?;
            let (lo, hi) = vals.split_once(',').ok_or_else(bad)?;
            let (lo, hi): (f32, f32) = (
                lo.parse().map_err(|_| bad())?,
                hi.parse().map_err(|_| bad())?,
            );
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return Err(bad());
            }
            r.set(name, lo, hi);
        }
        Ok(r)
    }
}

const BINS: usize = 4096;

/// Per-tensor statistics across images.
struct Stat {
    lo: f32,
    hi: f32,
    hist: Vec<u64>,
    /// Values exactly 0.
    zeros: u64,
}

impl Stat {
    /// The lower edge of histogram bin `bin` (`BINS` gives the top).
    fn edge(&self, bin: usize) -> f32 {
        self.lo + (self.hi - self.lo) * bin as f32 / BINS as f32
    }

    /// The `(100 − p)`-th and `p`-th percentiles (the lower end kept for non-negative data).
    fn percentile(&self, p: f64) -> (f32, f32) {
        let total: u64 = self.hist.iter().sum();
        let tail = ((1.0 - p / 100.0) * total as f64).floor() as u64;
        // Lowest bin whose cumulative count from the top stays within the tail, and likewise
        // from the bottom.
        let (mut acc, mut hi_bin) = (0u64, BINS);
        while hi_bin > 1 && acc + self.hist[hi_bin - 1] <= tail {
            acc += self.hist[hi_bin - 1];
            hi_bin -= 1;
        }
        let (mut acc, mut lo_bin) = (0u64, 0);
        while lo_bin + 1 < hi_bin && acc + self.hist[lo_bin] <= tail {
            acc += self.hist[lo_bin];
            lo_bin += 1;
        }
        let lo = if self.lo >= 0.0 {
            self.lo
        } else {
            self.edge(lo_bin)
        };
        (lo, self.edge(hi_bin))
    }

    /// The clip range of least expected squared error (see [`RangeMethod::Mse`]), from bin
    /// edges on a grid of about 128 upper and 64 lower candidates.
    fn mse(&self) -> (f32, f32) {
        let width = f64::from(self.hi - self.lo) / BINS as f64;
        let lo = f64::from(self.lo);
        // Prefix sums of count, count·x and count·x² over bin centres.
        let mut pre = vec![[0f64; 3]; BINS + 1];
        for (i, &n) in self.hist.iter().enumerate() {
            let (n, x) = (n as f64, lo + (i as f64 + 0.5) * width);
            let [c, m1, m2] = pre[i];
            pre[i + 1] = [c + n, m1 + n * x, m2 + n * x * x];
        }
        let sum = |a: usize, b: usize, k: usize| pre[b][k] - pre[a][k];
        // Σ n·(x − e)² over bins a..b.
        let clip = |a: usize, b: usize, e: f64| {
            sum(a, b, 2) - 2.0 * e * sum(a, b, 1) + e * e * sum(a, b, 0)
        };
        let zero_bin = if self.lo >= 0.0 {
            0
        } else {
            (((-lo) / width) as usize).min(BINS - 1)
        };
        let his: Vec<usize> = grid(zero_bin + 1, BINS, 128);
        let los: Vec<usize> = if self.lo >= 0.0 {
            vec![0]
        } else {
            grid(0, zero_bin, 64)
        };
        let mut best = (f64::INFINITY, self.lo, self.hi);
        for &lb in &los {
            let l = lo + lb as f64 * width;
            for &hb in &his {
                let h = lo + hb as f64 * width;
                let step = (h - l.min(0.0)) / 255.0;
                let inside = (sum(lb, hb, 0) - self.zeros as f64).max(0.0);
                let err = clip(0, lb, l) + clip(hb, BINS, h) + inside * step * step / 12.0;
                if err < best.0 {
                    best = (err, l as f32, h as f32);
                }
            }
        }
        (best.1, best.2)
    }
}

/// About `n` evenly spaced integers from `a` to `b` (both included; `a ≤ b`).
fn grid(a: usize, b: usize, n: usize) -> Vec<usize> {
    let step = ((b - a) / n).max(1);
    let mut v: Vec<usize> = (a..b).step_by(step).collect();
    v.push(b);
    v
}

/// Visits every value (`data − minus` when `minus` is given).
fn each_value(data: &[f32], minus: Option<&[f32]>, mut f: impl FnMut(f32)) {
    match minus {
        Some(m) => data.iter().zip(m).for_each(|(a, b)| f(a - b)),
        None => data.iter().for_each(|&a| f(a)),
    }
}

/// Measures activation ranges of `net` over `images` (each a preprocessed NHWC image of shape
/// `shape`, `shape.n == 1`).
pub fn calibrate(
    net: &Network,
    shape: Nhwc,
    images: &[Vec<f32>],
    method: RangeMethod,
) -> Result<Ranges> {
    if images.is_empty() {
        return Err(Error::InvalidArgument(
            "calibration needs at least one image".into(),
        ));
    }
    let mut ws = Workspace::default();
    let mut stats: BTreeMap<String, Stat> = BTreeMap::new();
    for img in images {
        net.observe(shape, img, &mut ws, &mut |name, data, minus| {
            let st = stats.entry(name.to_string()).or_insert(Stat {
                lo: f32::INFINITY,
                hi: f32::NEG_INFINITY,
                hist: Vec::new(),
                zeros: 0,
            });
            each_value(data, minus, |v| {
                st.lo = st.lo.min(v);
                st.hi = st.hi.max(v);
            });
        })?;
    }
    if let Some((name, _)) = stats
        .iter()
        .find(|(_, s)| !(s.lo.is_finite() && s.hi.is_finite()))
    {
        return Err(Error::InvalidArgument(format!(
            "activation `{name}` is not finite on the calibration images"
        )));
    }
    let mut ranges = Ranges::default();
    if method == RangeMethod::MinMax {
        for (name, s) in &stats {
            ranges.set(name, s.lo, s.hi);
        }
        return Ok(ranges);
    }
    for s in stats.values_mut() {
        s.hist = vec![0; BINS];
    }
    for img in images {
        net.observe(shape, img, &mut ws, &mut |name, data, minus| {
            if let Some(st) = stats.get_mut(name) {
                let width = (st.hi - st.lo).max(f32::MIN_POSITIVE);
                each_value(data, minus, |v| {
                    let bin = (((v - st.lo) / width) * BINS as f32) as usize;
                    st.hist[bin.min(BINS - 1)] += 1;
                    st.zeros += u64::from(v == 0.0);
                });
            }
        })?;
    }
    for (name, s) in &stats {
        let (lo, hi) = match method {
            RangeMethod::Percentile(p) => s.percentile(p),
            _ => s.mse(),
        };
        ranges.set(name, lo, hi);
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_and_ranges_round_trip() {
        assert_eq!(RangeMethod::parse("minmax").unwrap(), RangeMethod::MinMax);
        assert_eq!(
            RangeMethod::parse("percentile:99.9").unwrap(),
            RangeMethod::Percentile(99.9)
        );
        assert!(RangeMethod::parse("percentile:20").is_err());
        assert_eq!(RangeMethod::parse("mse").unwrap(), RangeMethod::Mse);
        assert!(RangeMethod::parse("kl").is_err());
        let mut r = Ranges::default();
        r.set("a", -1.5, 3.25);
        r.set("b.dw", 0.5, 6.0);
        assert_eq!(r.get("b.dw").unwrap(), (0.0, 6.0));
        assert_eq!(Ranges::from_text(&r.to_text()).unwrap(), r);
        assert!(Ranges::from_text("x=1").is_err());
        assert!(Ranges::from_text("x=2,1").is_err());
        assert!(r.get("zzz").unwrap_err().to_string().contains("zzz"));
    }

    /// A histogram of `values` over their min/max, as `calibrate` builds it.
    fn stat(values: &[f32]) -> Stat {
        let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut s = Stat {
            lo,
            hi,
            hist: vec![0; BINS],
            zeros: 0,
        };
        for &v in values {
            let bin = (((v - lo) / (hi - lo)) * BINS as f32) as usize;
            s.hist[bin.min(BINS - 1)] += 1;
            s.zeros += u64::from(v == 0.0);
        }
        s
    }

    #[test]
    fn mse_trades_clipping_against_the_step() {
        // Uniform data: nothing to clip, the range is the data's.
        let v: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
        let (lo, hi) = stat(&v).mse();
        assert_eq!(lo, 0.0);
        assert!((0.98..=1.0).contains(&hi), "{hi}");
        // One far outlier: the least squared error clips it part-way (its error against
        // the coarser step of a million values), unlike min/max.
        let mut v: Vec<f32> = (0..1_000_000).map(|i| i as f32 / 1_000_000.0).collect();
        v.push(100.0);
        let (_, hi) = stat(&v).mse();
        assert!(hi > 1.0 && hi < 90.0, "{hi}");
        // Signed data: both ends are searched and kept.
        let v: Vec<f32> = (0..100_001)
            .map(|i| (i as f32 - 50_000.0) / 50_000.0)
            .collect();
        let (lo, hi) = stat(&v).mse();
        assert!(lo < -0.95 && hi > 0.95, "{lo} {hi}");
        // The percentile rule on the outlier data ignores the outlier entirely.
        let mut v: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
        v.push(100.0);
        let (_, hi) = stat(&v).percentile(99.99);
        assert!(hi < 1.1, "{hi}");
    }
}
