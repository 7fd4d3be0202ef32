//! Simulated activation widths: the f32 network with chosen activations rounded to a grid of
//! `2^bits` steps over their calibrated range (fake quantization), to find out where a
//! quantized network needs more than 8 bits before writing kernels for it.
//!
//! The simulation uses the INT8 network's weights (each INT8 convolution's weights rounded
//! per output channel to s8 as [`QuantNetwork`] does, then used in f32) and rounds exactly
//! the activations the INT8 network quantizes (plus each block's input as its first layer
//! reads it, `{block}.input`), with the same range and the same rounding (ties to even, zero
//! point exact) as the INT8 kernels at 8 bits. It does not model the bias rounding, the INT8
//! squeeze-excitation internals, or the extra rounding of the INT8 residual add; at 8 bits
//! everywhere it is therefore a little closer to f32 than the real INT8 network.

use std::collections::BTreeSet;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;

use super::network::{f32_span, weight_scale, weight_step};
use super::{QuantNetwork, QuantWorkspace, RangeMethod, calibrate};
use crate::arch::Spec;
use crate::error::{Error, Result};
use crate::network::{Network, Output, Workspace};
use crate::weights::Weights;

/// The kinds of activation a [`Widths`] rule can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `{block}.input`: a block's input as its first layer reads it.
    Input,
    /// `{block}.expand`: the expansion conv's output.
    Expand,
    /// `{block}.dw`: the depthwise conv's output (after squeeze-excitation).
    Dw,
    /// `{block}.project`: the projection before its residual add.
    Project,
    /// `{block}` and the stem output `features.0`: the activation between blocks (the
    /// residual stream).
    Block,
    /// `last`: the last conv's output.
    Last,
}

impl Kind {
    const NAMES: [(&'static str, Kind); 6] = [
        ("input", Kind::Input),
        ("expand", Kind::Expand),
        ("dw", Kind::Dw),
        ("project", Kind::Project),
        ("block", Kind::Block),
        ("last", Kind::Last),
    ];

    /// The kind and block index of activation `name` (`last` comes after every block);
    /// `None` for names no rule can select.
    fn of(name: &str) -> Option<(Kind, usize)> {
        if name == "last" {
            return Some((Kind::Last, usize::MAX));
        }
        let rest = name.strip_prefix("features.")?;
        let (index, suffix) = rest.split_once('.').unwrap_or((rest, ""));
        let index = index.parse().ok()?;
        let kind = match suffix {
            "" => Kind::Block,
            "input" => Kind::Input,
            "expand" => Kind::Expand,
            "dw" => Kind::Dw,
            "project" => Kind::Project,
            _ => return None,
        };
        Some((kind, index))
    }
}

/// What a [`Widths`] rule applies to.
#[derive(Clone, Debug, PartialEq)]
enum Selector {
    Kind(Kind),
    /// `features.N+`: every activation of block `N` and later, and `last`.
    From(usize),
    /// One activation by name.
    Name(String),
}

/// Bits per simulated activation: 8 unless a rule says otherwise (parsed by
/// [`Widths::parse`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Widths {
    /// `(selector, bits)`, later rules first to match; `None` bits = left in f32.
    rules: Vec<(Selector, Option<u32>)>,
    /// Whether the weights stay f32 (`weights=f32`) instead of the INT8 network's.
    f32_weights: bool,
    /// Whether each image gets its own ranges (`ranges=image`: least-squared-error ranges
    /// of that image alone, an upper bound for any static choice) instead of the calibrated.
    own_ranges: bool,
}

impl Widths {
    /// Parses comma-separated `WHICH=BITS` rules (later ones win): `WHICH` is a kind —
    /// `input`, `expand`, `dw`, `project`, `block` (block outputs and the stem output: the
    /// residual stream), `last` — or `features.N+` (block N onward and `last`) or one
    /// activation name (`features.13.dw`); `BITS` is 2 to 16, or `f32`. `weights=f32` keeps
    /// the f32 weights (`weights=8`, the default, uses the INT8 network's); `ranges=image`
    /// gives every image its own least-squared-error ranges instead of the calibrated ones
    /// (`ranges=calibrated`, the default). `default` (or an empty string) is 8 bits
    /// everywhere.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let mut widths = Widths::default();
        if spec.is_empty() || spec == "default" {
            return Ok(widths);
        }
        for rule in spec.split(',') {
            let bad =
                |why: &str| Error::InvalidArgument(format!("simulated widths: `{rule}`: {why}"));
            let (which, bits) = rule
                .trim()
                .split_once('=')
                .ok_or_else(|| bad("expected WHICH=BITS"))?;
            let which = which.trim();
            if which == "ranges" {
                widths.own_ranges = match bits.trim() {
                    "image" => true,
                    "calibrated" => false,
                    _ => return Err(bad("ranges are `calibrated` or `image`")),
                };
                continue;
            }
            let bits = match bits.trim() {
                "f32" => None,
                b => match b.parse::<u32>() {
                    Ok(b @ 2..=16) => Some(b),
                    _ => return Err(bad("BITS is 2 to 16 or f32")),
                },
            };
            if which == "weights" {
                widths.f32_weights = match bits {
                    None => true,
                    Some(8) => false,
                    Some(_) => return Err(bad("weights are 8 bits or f32")),
                };
                continue;
            }
            let selector = if let Some(&(_, k)) = Kind::NAMES.iter().find(|(n, _)| *n == which) {
                Selector::Kind(k)
            } else if let Some(n) = which
                .strip_prefix("features.")
                .and_then(|r| r.strip_suffix('+'))
            {
                Selector::From(n.parse().map_err(|_| bad("expected features.N+"))?)
            } else if Kind::of(which).is_some() {
                Selector::Name(which.to_string())
            } else {
                return Err(bad(
                    "WHICH is input, expand, dw, project, block, last, features.N+, an \
                     activation name like features.13.dw, or weights",
                ));
            };
            widths.rules.push((selector, bits));
        }
        Ok(widths)
    }

    /// Bits of activation `name` (`None`: left in f32).
    fn bits(&self, name: &str) -> Option<u32> {
        let (kind, index) = Kind::of(name)?;
        let hit = |s: &Selector| match s {
            Selector::Kind(k) => *k == kind,
            Selector::From(n) => index >= *n,
            Selector::Name(n) => n == name,
        };
        self.rules
            .iter()
            .rev()
            .find(|(s, _)| hit(s))
            .map_or(Some(8), |&(_, b)| b)
    }

    /// The activation names the rules select one by one.
    fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().filter_map(|(s, _)| match s {
            Selector::Name(n) => Some(n.as_str()),
            _ => None,
        })
    }
}

/// Rounds `data` to `bits` bits over `[lo, hi]` (zero exact, ties to even; at 8 bits the
/// INT8 network's [`super::Ranges::params`] grid).
fn round_to_grid(data: &mut [f32], minus: Option<&[f32]>, (lo, hi): (f32, f32), bits: u32) {
    let levels = ((1u32 << bits) - 1) as f32;
    let step = (hi - lo).max(1e-8) / levels;
    let zero = (-lo / step).round().clamp(0.0, levels);
    let q = |v: f32| (((v / step).round_ties_even() + zero).clamp(0.0, levels) - zero) * step;
    match minus {
        Some(m) => data
            .iter_mut()
            .zip(m)
            .for_each(|(d, &r)| *d = r + q(*d - r)),
        None => data.iter_mut().for_each(|d| *d = q(*d)),
    }
}

/// `weights` with the weights of every convolution `q` runs in INT8 rounded per output
/// channel to `s8` steps by [`QuantNetwork`]'s own rule (`weight_scale`, `weight_step`; it
/// rounds the BatchNorm-folded weights, and folding scales each output channel, which this
/// rounding commutes with).
fn int8_weights(net: &Network, q: &QuantNetwork, weights: &Weights) -> Result<Weights> {
    let spec = Spec::new(net.arch(), net.width_mult())?;
    let is_f32 = |name: &str| q.f32_layers().iter().any(|l| l == name);
    let (head, tail) = f32_span(&spec.blocks, q.f32_layers());
    let mut keys = Vec::new();
    for b in spec.blocks.get(head..tail).unwrap_or_default() {
        let convs = [
            ("expand", b.expand.as_ref()),
            ("dw", Some(&b.dw)),
            ("project", Some(&b.project)),
        ];
        for (role, conv) in convs {
            if let Some(c) = conv
                && !is_f32(&format!("{}.{role}", b.name))
            {
                keys.push(c.weight.clone());
            }
        }
        if let Some(se) = &b.se {
            keys.extend(["fc1", "fc2"].map(|fc| format!("{}.{fc}.weight", se.prefix)));
        }
    }
    if tail == spec.blocks.len() && !is_f32("last") {
        keys.push(spec.last.weight.clone());
    }
    let mut out = weights.clone();
    for key in keys {
        let mut t = out.remove(&key).ok_or_else(|| {
            Error::InvalidArgument(format!("simulated weights: no tensor `{key}`"))
        })?;
        let per = t.data.len() / t.shape.first().copied().unwrap_or(1).max(1);
        for row in t.data.chunks_mut(per.max(1)) {
            let s_w = weight_scale(row);
            row.iter_mut().for_each(|v| *v = weight_step(*v, s_w) * s_w);
        }
        out.insert(&key, t.shape, t.data)?;
    }
    Ok(out)
}

/// The pooled embeddings of `images` (preprocessed `size`×`size` tensors) from the f32
/// network `net` (built from `weights` with `table`) with `q`'s INT8 weights, the
/// activations `q` quantizes rounded to `widths` over `q`'s calibrated ranges (or each
/// image's own, with `ranges=image`), and each
/// block's input, where `q` quantizes it, rounded as its first layer reads it
/// (`{block}.input`, range of the block input). Activations `q` keeps in f32 stay f32. An
/// activation name in `widths` that `q` does not quantize is an error.
pub fn simulate(
    net: &Network,
    weights: &Weights,
    q: &QuantNetwork,
    widths: &Widths,
    size: usize,
    images: &[Vec<f32>],
    table: &KernelTable,
) -> Result<Vec<Vec<f32>>> {
    let shape = Nhwc::new(1, size, size, 3);
    let reference = net;
    let rounded;
    let net = if widths.f32_weights {
        net
    } else {
        let w = int8_weights(net, q, weights)?;
        rounded = Network::new(net.arch(), net.width_mult(), &w, table)?;
        &rounded
    };
    let first = images
        .first()
        .ok_or_else(|| Error::InvalidArgument("simulating needs at least one image".into()))?;
    let mut quantized = BTreeSet::new();
    let mut pooled = vec![0.0; q.dim()];
    q.observe(
        shape,
        first,
        &mut pooled,
        &mut QuantWorkspace::default(),
        &mut |n, _| {
            quantized.insert(n.to_string());
        },
    )?;
    if let Some(n) = (widths.names()).find(|n| !n.ends_with(".input") && !quantized.contains(*n)) {
        return Err(Error::InvalidArgument(format!(
            "simulated widths: the INT8 network does not quantize `{n}`"
        )));
    }
    let dim = net.output_dim(Output::Pooled)?;
    let mut ws = Workspace::default();
    images
        .iter()
        .map(|img| {
            let mut out = vec![0.0; dim];
            let own;
            let ranges = if widths.own_ranges {
                own = calibrate(
                    reference,
                    shape,
                    std::slice::from_ref(img),
                    RangeMethod::Mse,
                )?;
                &own
            } else {
                q.ranges()
            };
            // The activation between blocks seen last: the range of the next block's input.
            let mut between = String::new();
            let mut failure = None;
            net.simulate(shape, img, &mut out, &mut ws, &mut |name, data, minus| {
                let range_of = if name.ends_with(".input") {
                    between.as_str()
                } else {
                    name
                };
                if quantized.contains(range_of)
                    && let Some(bits) = widths.bits(name)
                {
                    match ranges.get(range_of) {
                        Ok(range) => round_to_grid(data, minus, range, bits),
                        Err(e) => failure = Some(e),
                    }
                }
                if Kind::of(name).is_some_and(|(k, _)| k == Kind::Block) {
                    between = name.to_string();
                }
            })?;
            failure.map_or(Ok(out), Err)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_rules_win_and_default_is_8_bits() {
        let w = Widths::parse("block=16, features.13+=f32, features.14.dw=4").unwrap();
        assert_eq!(w.bits("features.3"), Some(16));
        assert_eq!(w.bits("features.3.dw"), Some(8));
        assert_eq!(w.bits("features.13.input"), None);
        assert_eq!(w.bits("last"), None);
        assert_eq!(w.bits("features.14.dw"), Some(4));
        assert_eq!(w.bits("features.3.se_in"), None);
        assert_eq!(Widths::parse("default").unwrap().bits("last"), Some(8));
        assert!(!Widths::parse("dw=8").unwrap().f32_weights);
        assert!(Widths::parse("weights=f32").unwrap().f32_weights);
        assert!(Widths::parse("ranges=image").unwrap().own_ranges);
        assert!(!Widths::parse("ranges=calibrated").unwrap().own_ranges);
    }

    #[test]
    fn bad_rules_are_errors() {
        for spec in [
            "dw",
            "dw=1",
            "dw=17",
            "dw=x",
            "nope=8",
            "features.x+=8",
            "features.3.q=8",
            "weights=4",
        ] {
            assert!(Widths::parse(spec).is_err(), "{spec}");
        }
    }

    #[test]
    fn eight_bits_round_like_the_int8_grid() {
        // Range [-1, 3]: step 4/255, zero point 64 (63.75 rounded).
        let step = 4.0f32 / 255.0;
        let mut v = [0.0, 3.5, -2.0, 0.2];
        round_to_grid(&mut v, None, (-1.0, 3.0), 8);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[1], (255 - 64) as f32 * step);
        assert_eq!(v[2], -64.0 * step);
        assert!((v[3] - 0.2).abs() <= step / 2.0 && v[3] != 0.2);
        // Two bits over [0, 3]: steps of 1, ties to even.
        let mut t = [0.5, 1.5, 2.5, 7.0];
        round_to_grid(&mut t, None, (0.0, 3.0), 2);
        assert_eq!(t, [0.0, 2.0, 2.0, 3.0]);
        // With a residual: the projection is rounded, the residual stays added.
        let (mut d, r) = ([1.0 + 0.2], [1.0]);
        round_to_grid(&mut d, Some(&r), (-1.0, 3.0), 8);
        assert!((d[0] - 1.2).abs() <= step / 2.0 && d[0] != 1.2);
    }
}
