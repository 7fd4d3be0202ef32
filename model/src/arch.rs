//! The architectures as torchvision defines them, expanded into layer specs with their
//! `state_dict` keys: MobileNetV3-Small/-Large (`torchvision.models.mobilenetv3`) and
//! MobileNetV2 (`torchvision.models.mobilenetv2`), at any `width_mult`.

use std::fmt;
use std::str::FromStr;

use ruvector_cnn_kernels::Activation;

use crate::error::{Error, Result};

/// A supported network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `torchvision.models.mobilenet_v3_small`.
    MobileNetV3Small,
    /// `torchvision.models.mobilenet_v3_large`.
    MobileNetV3Large,
    /// `torchvision.models.mobilenet_v2`.
    MobileNetV2,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 3] = [
        Arch::MobileNetV3Small,
        Arch::MobileNetV3Large,
        Arch::MobileNetV2,
    ];

    /// The torchvision constructor name (`"mobilenet_v3_small"`), also used in file metadata.
    pub const fn torchvision_name(self) -> &'static str {
        match self {
            Arch::MobileNetV3Small => "mobilenet_v3_small",
            Arch::MobileNetV3Large => "mobilenet_v3_large",
            Arch::MobileNetV2 => "mobilenet_v2",
        }
    }

    /// The CLI name (`"mobilenetv3-small"`).
    pub const fn cli_name(self) -> &'static str {
        match self {
            Arch::MobileNetV3Small => "mobilenetv3-small",
            Arch::MobileNetV3Large => "mobilenetv3-large",
            Arch::MobileNetV2 => "mobilenetv2",
        }
    }

    /// BatchNorm ε: 1e-3 for MobileNetV3, PyTorch's default 1e-5 for MobileNetV2.
    pub const fn bn_eps(self) -> f32 {
        match self {
            Arch::MobileNetV3Small | Arch::MobileNetV3Large => 1e-3,
            Arch::MobileNetV2 => 1e-5,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.cli_name())
    }
}

impl FromStr for Arch {
    type Err = Error;

    /// Accepts the CLI name or the torchvision name.
    fn from_str(s: &str) -> Result<Self> {
        Arch::ALL
            .into_iter()
            .find(|a| a.cli_name() == s || a.torchvision_name() == s)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown model `{s}` (known: mobilenetv2, mobilenetv3-small, mobilenetv3-large)"
                ))
            })
    }
}

/// torchvision's `_make_divisible(v, 8)`: round to the nearest multiple of 8, at least 8, and
/// never more than 10% below `v`.
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new_v = divisor.max(((v + d / 2.0) as usize) / divisor * divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// A convolution followed by BatchNorm and an activation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConvBn {
    /// Key of the conv weight.
    pub weight: String,
    /// Key prefix of the BatchNorm (`<bn>.weight`, `.bias`, `.running_mean`, `.running_var`).
    pub bn: String,
    pub cin: usize,
    pub cout: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Depthwise (groups = channels) rather than dense.
    pub depthwise: bool,
    pub act: Activation,
}

/// A squeeze-excitation block (`fc1`, `fc2` 1x1 convs with bias).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SeSpec {
    pub prefix: String,
    pub channels: usize,
    pub squeeze: usize,
}

/// An inverted-residual block.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BlockSpec {
    /// Key prefix (`features.3`).
    pub name: String,
    pub expand: Option<ConvBn>,
    pub dw: ConvBn,
    pub se: Option<SeSpec>,
    pub project: ConvBn,
    pub residual: bool,
}

/// A classifier Linear layer; the last one's output width comes from the weights.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LinearSpec {
    pub prefix: String,
    pub inputs: usize,
    /// Output width, or `None` for the final layer (number of classes, read from the weights).
    pub outputs: Option<usize>,
    pub act: Activation,
}

/// A whole network.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spec {
    pub stem: ConvBn,
    pub blocks: Vec<BlockSpec>,
    pub last: ConvBn,
    pub head: Vec<LinearSpec>,
}

/// One row of torchvision's MobileNetV3 `bneck_conf` table (before `width_mult`).
struct V3Row(usize, usize, usize, usize, bool, Activation, usize);

const RE: Activation = Activation::Relu;
const HS: Activation = Activation::Hswish;

#[rustfmt::skip]
const V3_LARGE: [V3Row; 15] = [
    // input, kernel, expanded, out, se, activation, stride
    V3Row(16, 3, 16, 16, false, RE, 1),
    V3Row(16, 3, 64, 24, false, RE, 2),
    V3Row(24, 3, 72, 24, false, RE, 1),
    V3Row(24, 5, 72, 40, true, RE, 2),
    V3Row(40, 5, 120, 40, true, RE, 1),
    V3Row(40, 5, 120, 40, true, RE, 1),
    V3Row(40, 3, 240, 80, false, HS, 2),
    V3Row(80, 3, 200, 80, false, HS, 1),
    V3Row(80, 3, 184, 80, false, HS, 1),
    V3Row(80, 3, 184, 80, false, HS, 1),
    V3Row(80, 3, 480, 112, true, HS, 1),
    V3Row(112, 3, 672, 112, true, HS, 1),
    V3Row(112, 5, 672, 160, true, HS, 2),
    V3Row(160, 5, 960, 160, true, HS, 1),
    V3Row(160, 5, 960, 160, true, HS, 1),
];

#[rustfmt::skip]
const V3_SMALL: [V3Row; 11] = [
    V3Row(16, 3, 16, 16, true, RE, 2),
    V3Row(16, 3, 72, 24, false, RE, 2),
    V3Row(24, 3, 88, 24, false, RE, 1),
    V3Row(24, 5, 96, 40, true, HS, 2),
    V3Row(40, 5, 240, 40, true, HS, 1),
    V3Row(40, 5, 240, 40, true, HS, 1),
    V3Row(40, 5, 120, 48, true, HS, 1),
    V3Row(48, 5, 144, 48, true, HS, 1),
    V3Row(48, 5, 288, 96, true, HS, 2),
    V3Row(96, 5, 576, 96, true, HS, 1),
    V3Row(96, 5, 576, 96, true, HS, 1),
];

/// MobileNetV2's `(t, c, n, s)` table.
const V2_TABLE: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// A conv-BN-activation in torchvision's `Conv2dNormActivation` layout (`<p>.0`, `<p>.1`).
#[allow(clippy::too_many_arguments)]
fn cna(p: &str, cin: usize, cout: usize, k: usize, s: usize, dw: bool, act: Activation) -> ConvBn {
    ConvBn {
        weight: format!("{p}.0.weight"),
        bn: format!("{p}.1"),
        cin,
        cout,
        kernel: k,
        stride: s,
        depthwise: dw,
        act,
    }
}

/// Checks a width multiplier.
fn check_width(width: f32) -> Result<f64> {
    if width.is_finite() && width > 0.0 && width <= 16.0 {
        Ok(f64::from(width))
    } else {
        Err(Error::InvalidArgument(format!(
            "width_mult must be in (0, 16], got {width}"
        )))
    }
}

impl SeSpec {
    /// `(key, shape)` of `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias`.
    pub(crate) fn tensors(&self) -> [(String, Vec<usize>); 4] {
        let (c, q, p) = (self.channels, self.squeeze, &self.prefix);
        [
            (format!("{p}.fc1.weight"), vec![q, c, 1, 1]),
            (format!("{p}.fc1.bias"), vec![q]),
            (format!("{p}.fc2.weight"), vec![c, q, 1, 1]),
            (format!("{p}.fc2.bias"), vec![c]),
        ]
    }
}

impl Spec {
    /// The spec of `arch` at `width_mult` (torchvision's default is 1.0).
    pub(crate) fn new(arch: Arch, width_mult: f32) -> Result<Spec> {
        let w = check_width(width_mult)?;
        Ok(match arch {
            Arch::MobileNetV3Small => v3(&V3_SMALL, 1024, w),
            Arch::MobileNetV3Large => v3(&V3_LARGE, 1280, w),
            Arch::MobileNetV2 => v2(w),
        })
    }
}

impl ConvBn {
    /// `(key, shape)` of the conv weight and the four BatchNorm tensors.
    pub(crate) fn tensors(&self, out: &mut Vec<(String, Vec<usize>)>) {
        let per_out = if self.depthwise { 1 } else { self.cin };
        out.push((
            self.weight.clone(),
            vec![self.cout, per_out, self.kernel, self.kernel],
        ));
        for p in ["weight", "bias", "running_mean", "running_var"] {
            out.push((format!("{}.{p}", self.bn), vec![self.cout]));
        }
    }
}

impl Spec {
    /// `(key, shape)` of every tensor of the `state_dict`, in network order; the classifier
    /// is included when `classes` is given.
    pub(crate) fn tensors(&self, classes: Option<usize>) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        self.stem.tensors(&mut out);
        for b in &self.blocks {
            if let Some(e) = &b.expand {
                e.tensors(&mut out);
            }
            b.dw.tensors(&mut out);
            if let Some(se) = &b.se {
                out.extend(se.tensors());
            }
            b.project.tensors(&mut out);
        }
        self.last.tensors(&mut out);
        if let Some(classes) = classes {
            for l in &self.head {
                let o = l.outputs.unwrap_or(classes);
                out.push((format!("{}.weight", l.prefix), vec![o, l.inputs]));
                out.push((format!("{}.bias", l.prefix), vec![o]));
            }
        }
        out
    }
}

fn v3(rows: &[V3Row], last_channel: usize, w: f64) -> Spec {
    let adjust = |c: usize| make_divisible(c as f64 * w, 8);
    let stem_out = adjust(rows[0].0);
    let stem = cna("features.0", 3, stem_out, 3, 2, false, HS);
    let mut blocks = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let V3Row(cin, k, exp, cout, se, act, stride) = *r;
        let (cin, exp, cout) = (adjust(cin), adjust(exp), adjust(cout));
        let name = format!("features.{}", i + 1);
        let p = format!("{name}.block");
        let mut j = 0;
        let mut next = || {
            j += 1;
            format!("{p}.{}", j - 1)
        };
        let expand = (exp != cin).then(|| cna(&next(), cin, exp, 1, 1, false, act));
        let dw = cna(&next(), exp, exp, k, stride, true, act);
        let se = se.then(|| SeSpec {
            prefix: next(),
            channels: exp,
            squeeze: make_divisible((exp / 4) as f64, 8),
        });
        let project = cna(&next(), exp, cout, 1, 1, false, Activation::Linear);
        blocks.push(BlockSpec {
            name,
            expand,
            dw,
            se,
            project,
            residual: stride == 1 && cin == cout,
        });
    }
    let last_in = blocks.last().map_or(stem_out, |b| b.project.cout);
    let last_out = 6 * last_in;
    let last = cna(
        &format!("features.{}", rows.len() + 1),
        last_in,
        last_out,
        1,
        1,
        false,
        HS,
    );
    let hidden = adjust(last_channel);
    let head = vec![
        LinearSpec {
            prefix: "classifier.0".into(),
            inputs: last_out,
            outputs: Some(hidden),
            act: HS,
        },
        LinearSpec {
            prefix: "classifier.3".into(),
            inputs: hidden,
            outputs: None,
            act: Activation::Linear,
        },
    ];
    Spec {
        stem,
        blocks,
        last,
        head,
    }
}

fn v2(w: f64) -> Spec {
    const R6: Activation = Activation::Relu6;
    let mut cin = make_divisible(32.0 * w, 8);
    let last_channel = make_divisible(1280.0 * w.max(1.0), 8);
    let stem = cna("features.0", 3, cin, 3, 2, false, R6);
    let mut blocks = Vec::new();
    for &(t, c, n, s) in &V2_TABLE {
        let cout = make_divisible(c as f64 * w, 8);
        for rep in 0..n {
            let stride = if rep == 0 { s } else { 1 };
            let name = format!("features.{}", blocks.len() + 1);
            let p = format!("{name}.conv");
            let hidden = (cin as f64 * t as f64).round() as usize;
            let expand = (t != 1).then(|| cna(&format!("{p}.0"), cin, hidden, 1, 1, false, R6));
            let j = usize::from(expand.is_some());
            let dw = cna(&format!("{p}.{j}"), hidden, hidden, 3, stride, true, R6);
            let project = ConvBn {
                weight: format!("{p}.{}.weight", j + 1),
                bn: format!("{p}.{}", j + 2),
                cin: hidden,
                cout,
                kernel: 1,
                stride: 1,
                depthwise: false,
                act: Activation::Linear,
            };
            blocks.push(BlockSpec {
                name,
                expand,
                dw,
                se: None,
                project,
                residual: stride == 1 && cin == cout,
            });
            cin = cout;
        }
    }
    let last = cna(
        &format!("features.{}", blocks.len() + 1),
        cin,
        last_channel,
        1,
        1,
        false,
        R6,
    );
    let head = vec![LinearSpec {
        prefix: "classifier.1".into(),
        inputs: last_channel,
        outputs: None,
        act: Activation::Linear,
    }];
    Spec {
        stem,
        blocks,
        last,
        head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_divisible_matches_torchvision() {
        // Values computed with torchvision.models._utils._make_divisible.
        for (v, want) in [
            (16.0, 16),
            (12.0, 16),
            (4.0, 8),
            (8.8, 8),
            (20.0, 24),
            (36.0, 40),
            (72.0 * 0.35, 24),
            (1280.0 * 0.75, 960),
            (88.0 * 0.5, 48),
            (27.0, 32),
            (11.0, 16),
        ] {
            assert_eq!(make_divisible(v, 8), want, "v = {v}");
        }
    }

    #[test]
    fn v3_large_matches_torchvision_structure() {
        let s = Spec::new(Arch::MobileNetV3Large, 1.0).unwrap();
        assert_eq!(s.blocks.len(), 15);
        assert_eq!(s.last.cout, 960);
        assert_eq!(s.head[0].outputs, Some(1280));
        let b1 = &s.blocks[0];
        assert!(b1.expand.is_none() && b1.residual);
        assert_eq!(b1.dw.weight, "features.1.block.0.0.weight");
        assert_eq!(b1.project.bn, "features.1.block.1.1");
        let b4 = &s.blocks[3];
        assert_eq!(b4.se.as_ref().unwrap().squeeze, 24);
        assert_eq!(b4.se.as_ref().unwrap().prefix, "features.4.block.2");
        assert_eq!(b4.project.weight, "features.4.block.3.0.weight");
        assert_eq!(s.last.weight, "features.16.0.weight");
    }

    #[test]
    fn v3_small_and_v2_shapes() {
        let s = Spec::new(Arch::MobileNetV3Small, 1.0).unwrap();
        assert_eq!(
            (s.blocks.len(), s.last.cout, s.head[0].outputs),
            (11, 576, Some(1024))
        );
        assert_eq!(s.blocks[0].se.as_ref().unwrap().squeeze, 8);
        let v2 = Spec::new(Arch::MobileNetV2, 1.0).unwrap();
        assert_eq!(v2.blocks.len(), 17);
        assert_eq!(v2.last.weight, "features.18.0.weight");
        assert_eq!(v2.blocks[0].project.weight, "features.1.conv.1.weight");
        assert_eq!(v2.blocks[1].project.bn, "features.2.conv.3");
        assert_eq!(v2.last.cout, 1280);
    }

    #[test]
    fn bad_width_is_an_error() {
        for w in [0.0, -1.0, f32::NAN, f32::INFINITY, 100.0] {
            assert!(Spec::new(Arch::MobileNetV2, w).is_err());
        }
    }
}
