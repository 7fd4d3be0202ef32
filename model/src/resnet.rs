//! ResNet-18/-34 (torchvision's `resnet18`/`resnet34`: BasicBlocks of two 3x3 convolutions,
//! torchvision module layout and state-dict keys) built from `ruvector-cnn-kernels` operators,
//! at torchvision's base width 64 or any other (the golden fixture uses 16).
//!
//! Every convolution is a [`Conv2d`] with its BatchNorm folded in: the 7x7 stride-2 stem and
//! the 1x1 stride-2 downsampling convolutions run as im2col GEMMs, the 3x3 convolutions
//! directly or with Winograd F(2x2, 3x3) as [`ResNetOptions::algorithm`] asks (by default the
//! documented cost rule, which puts every stride-1 3x3 layer of a full-width ResNet on
//! Winograd); the block's residual add and relu are fused into its second convolution.

use ruvector_cnn_kernels::Activation;
use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::{
    Conv2d, ConvAlgorithm, GlobalAvgPool, Linear, LinearDesc, Nhwc, Padding, Pool, PoolDesc,
    PoolKind,
};

use crate::arch::ConvBn;
use crate::buffers::grow;
use crate::error::{Error, OpContext, Result};
use crate::network::{Output, dense, rotate};
use crate::weights::{Reader, Weights};

/// BatchNorm epsilon of torchvision's ResNets.
const BN_EPS: f32 = 1e-5;

/// Which ResNet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResNetDepth {
    /// BasicBlocks `[2, 2, 2, 2]`.
    #[default]
    R18,
    /// BasicBlocks `[3, 4, 6, 3]`.
    R34,
}

impl ResNetDepth {
    /// Blocks per stage.
    pub const fn blocks(self) -> [usize; 4] {
        match self {
            ResNetDepth::R18 => [2, 2, 2, 2],
            ResNetDepth::R34 => [3, 4, 6, 3],
        }
    }

    /// torchvision's name (`resnet18`).
    pub const fn name(self) -> &'static str {
        match self {
            ResNetDepth::R18 => "resnet18",
            ResNetDepth::R34 => "resnet34",
        }
    }
}

/// How to build a [`ResNet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResNetOptions {
    /// Depth (18 or 34).
    pub depth: ResNetDepth,
    /// Channels of the first stage (torchvision: 64); the stages have 1, 2, 4 and 8 times it.
    pub width: usize,
    /// Method of the stride-1 3x3 convolutions: `Auto` (the cost rule), `Winograd`, `Direct`
    /// or `Im2col`; `Im2col` applies to every convolution, the others only where they exist
    /// (the stem, the downsampling and the stride-2 3x3 layers otherwise follow `Auto`).
    pub algorithm: ConvAlgorithm,
}

impl Default for ResNetOptions {
    fn default() -> Self {
        ResNetOptions {
            depth: ResNetDepth::R18,
            width: 64,
            algorithm: ConvAlgorithm::Auto,
        }
    }
}

/// A BasicBlock's convolutions: `conv1` (3x3, stride 1 or 2, relu), `conv2` (3x3, relu after
/// the residual) and, when the shape changes, the 1x1 `downsample` (linear).
struct BlockLayout {
    /// Key prefix (`layer2.0`).
    name: String,
    conv1: ConvBn,
    conv2: ConvBn,
    down: Option<ConvBn>,
}

/// A conv + BN named `{prefix}.{conv}.weight` / `{prefix}.{bn}` (no depthwise in ResNets).
#[allow(clippy::too_many_arguments)]
fn conv_bn(
    prefix: &str,
    conv: &str,
    bn: &str,
    cin: usize,
    cout: usize,
    k: usize,
    s: usize,
    act: Activation,
) -> ConvBn {
    let key = |n: &str| {
        if prefix.is_empty() {
            n.to_string()
        } else {
            format!("{prefix}.{n}")
        }
    };
    ConvBn {
        weight: key(&format!("{conv}.weight")),
        bn: key(bn),
        cin,
        cout,
        kernel: k,
        stride: s,
        depthwise: false,
        act,
    }
}

impl ResNetOptions {
    /// The 7x7 stride-2 stem (`conv1`, `bn1`).
    fn stem(&self) -> ConvBn {
        conv_bn("", "conv1", "bn1", 3, self.width, 7, 2, Activation::Relu)
    }

    /// The BasicBlocks, in order.
    fn blocks(&self) -> Vec<BlockLayout> {
        let relu = Activation::Relu;
        let mut out = Vec::new();
        let mut cin = self.width;
        for (stage, &n) in self.depth.blocks().iter().enumerate() {
            let planes = self.width << stage;
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                let name = format!("layer{}.{i}", stage + 1);
                let downsamples = stride != 1 || cin != planes;
                out.push(BlockLayout {
                    conv1: conv_bn(&name, "conv1", "bn1", cin, planes, 3, stride, relu),
                    conv2: conv_bn(&name, "conv2", "bn2", planes, planes, 3, 1, relu),
                    down: downsamples.then(|| {
                        let linear = Activation::Linear;
                        conv_bn(
                            &name,
                            "downsample.0",
                            "downsample.1",
                            cin,
                            planes,
                            1,
                            stride,
                            linear,
                        )
                    }),
                    name,
                });
                cin = planes;
            }
        }
        out
    }

    /// Channels of the pooled embedding (the last stage's).
    pub fn features(&self) -> usize {
        self.width << 3
    }

    /// Every tensor key of the model with its shape (torchvision order), with an `fc` of
    /// `classes` outputs when given.
    pub fn tensors(&self, classes: Option<usize>) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        self.stem().tensors(&mut out);
        for b in self.blocks() {
            for c in [Some(&b.conv1), Some(&b.conv2), b.down.as_ref()]
                .into_iter()
                .flatten()
            {
                c.tensors(&mut out);
            }
        }
        if let Some(c) = classes {
            out.push(("fc.weight".into(), vec![c, self.features()]));
            out.push(("fc.bias".into(), vec![c]));
        }
        out
    }
}

struct BasicBlock {
    /// Key prefix (`layer2.0`).
    name: String,
    conv1: Conv2d,
    /// Adds the identity (or the downsampled input) before its relu.
    conv2: Conv2d,
    down: Option<Conv2d>,
}

/// A ResNet with BasicBlocks.
pub struct ResNet {
    options: ResNetOptions,
    stem: Conv2d,
    pool: Pool,
    blocks: Vec<BasicBlock>,
    gap: GlobalAvgPool,
    fc: Option<Linear>,
    features: usize,
}

/// Scratch memory of [`ResNet::forward`]; grown on first use per input size, then reused.
#[derive(Default)]
pub struct ResNetWorkspace {
    act: [Vec<f32>; 3],
    conv: Vec<f32>,
    pooled: Vec<f32>,
}

/// The conv + BN `c`, computed by `preference` where that method exists for it (the stem,
/// the downsampling and the stride-2 3x3 layers otherwise follow `Auto`).
fn conv(
    r: &Reader<'_>,
    c: &ConvBn,
    residual: bool,
    preference: ConvAlgorithm,
    t: &KernelTable,
) -> Result<Conv2d> {
    let algorithm = match preference {
        ConvAlgorithm::Winograd if !(c.kernel == 3 && c.stride == 1) => ConvAlgorithm::Auto,
        ConvAlgorithm::Direct if c.kernel != 3 => ConvAlgorithm::Auto,
        p => p,
    };
    dense(r, c, BN_EPS, residual, algorithm, t)
}

impl ResNet {
    /// Builds the ResNet `options` describe from torchvision-named `weights`, with kernels
    /// from `table`. Every tensor must be used (missing, extra, misshapen or non-finite
    /// tensors are errors naming the key); `fc` is optional.
    pub fn new(weights: &Weights, options: ResNetOptions, table: &KernelTable) -> Result<Self> {
        let w = options.width;
        if w == 0 || w > 1 << 16 {
            return Err(Error::InvalidArgument(format!(
                "ResNet width {w} (torchvision: 64)"
            )));
        }
        let r = Reader::new(weights);
        let pref = options.algorithm;
        let stem = conv(&r, &options.stem(), false, pref, table)?;
        let pool = Pool::new(
            &PoolDesc {
                kind: PoolKind::Max,
                channels: w,
                kernel: (3, 3),
                stride: (2, 2),
                padding: Padding::same(1),
            },
            table,
        )
        .layer("maxpool")?;
        let mut blocks = Vec::new();
        for b in options.blocks() {
            blocks.push(BasicBlock {
                conv1: conv(&r, &b.conv1, false, pref, table)?,
                conv2: conv(&r, &b.conv2, true, pref, table)?,
                down: b
                    .down
                    .as_ref()
                    .map(|d| conv(&r, d, false, pref, table))
                    .transpose()?,
                name: b.name,
            });
        }
        let cin = options.features();
        let gap = GlobalAvgPool::new(cin, table).layer("avgpool")?;
        let fc = if r.has("fc.weight") || r.has("fc.bias") {
            let outputs = match r.shape("fc.weight") {
                Some(&[o, i]) if o > 0 && i == cin => o,
                Some(s) => {
                    return Err(Error::Shape {
                        key: "fc.weight".into(),
                        expected: vec![0, cin],
                        actual: s.to_vec(),
                    });
                }
                None => return Err(Error::MissingKey("fc.weight".into())),
            };
            let desc = LinearDesc {
                in_features: cin,
                out_features: outputs,
                weights: r.take("fc.weight", &[outputs, cin])?,
                bias: Some(r.take("fc.bias", &[outputs])?),
                activation: Activation::Linear,
            };
            Some(Linear::new(&desc, table).layer("fc")?)
        } else {
            None
        };
        r.finish()?;
        Ok(ResNet {
            options,
            stem,
            pool,
            blocks,
            gap,
            fc,
            features: cin,
        })
    }

    /// Builds the ResNet the weights' metadata names (`arch` = `resnet18`/`resnet34`, `width`
    /// defaulting to 64, as [`Weights::random_resnet`] and `tools/make_resnet_golden.py`
    /// write), its 3x3 convolutions computed by `algorithm`.
    pub fn from_metadata(
        weights: &Weights,
        algorithm: ConvAlgorithm,
        table: &KernelTable,
    ) -> Result<Self> {
        let depth = match weights.metadata("arch") {
            Some("resnet18") => ResNetDepth::R18,
            Some("resnet34") => ResNetDepth::R34,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "the weights are for `{}`, not resnet18/resnet34",
                    other.unwrap_or("an unnamed architecture")
                )));
            }
        };
        let width = match weights.metadata("width") {
            None => 64,
            Some(w) => w
                .parse()
                .map_err(|_| Error::Format(format!("metadata width `{w}` is not a count")))?,
        };
        let options = ResNetOptions {
            depth,
            width,
            algorithm,
        };
        ResNet::new(weights, options, table)
    }

    /// The options it was built with.
    pub fn options(&self) -> ResNetOptions {
        self.options
    }

    /// Values per image of `output` (`Penultimate` is the pooled embedding, the input of
    /// `fc`); an error for `Logits` without `fc`.
    pub fn output_dim(&self, output: Output) -> Result<usize> {
        match (output, &self.fc) {
            (Output::Pooled | Output::Penultimate, _) => Ok(self.features),
            (Output::Logits, Some(fc)) => Ok(fc.out_features()),
            (Output::Logits, None) => Err(Error::Unsupported(
                "logits output: this ResNet was loaded without `fc`".into(),
            )),
        }
    }

    /// Every convolution's key and algorithm, in order.
    pub fn algorithms(&self) -> Vec<(String, ConvAlgorithm)> {
        let mut out = vec![("conv1".to_string(), self.stem.algorithm())];
        for b in &self.blocks {
            out.push((format!("{}.conv1", b.name), b.conv1.algorithm()));
            out.push((format!("{}.conv2", b.name), b.conv2.algorithm()));
            if let Some(d) = &b.down {
                out.push((format!("{}.downsample", b.name), d.algorithm()));
            }
        }
        out
    }

    /// Every convolution in order, with its name.
    fn convs(&self) -> impl Iterator<Item = &Conv2d> {
        std::iter::once(&self.stem).chain(self.blocks.iter().flat_map(|b| {
            [Some(&b.conv1), Some(&b.conv2), b.down.as_ref()]
                .into_iter()
                .flatten()
        }))
    }

    /// Sizes `ws` for batches of `input`-shaped images (allocates only when it grows).
    fn prepare(&self, input: Nhwc, ws: &mut ResNetWorkspace) -> Result<()> {
        let mut most = 0usize;
        let mut s = self.stem.output_shape(input).layer("conv1")?;
        most = most.max(s.len().layer("conv1")?);
        s = self.pool.output_shape(s).layer("maxpool")?;
        for b in &self.blocks {
            s = b.conv1.output_shape(s).layer(&b.name)?;
            most = most.max(s.len().layer(&b.name)?);
        }
        let conv = self.convs().map(Conv2d::workspace_len).max().unwrap_or(0);
        for a in &mut ws.act {
            grow(a, most);
        }
        grow(&mut ws.conv, conv);
        grow(&mut ws.pooled, input.n * self.features);
        Ok(())
    }

    /// Runs a batch of NHWC RGB images (`shape`, `input`; preprocessed as torchvision's
    /// ImageNet transform would) and writes `output` per image into `out`
    /// (`shape.n · output_dim(output)` floats).
    pub fn forward(
        &self,
        shape: Nhwc,
        input: &[f32],
        output: Output,
        out: &mut [f32],
        ws: &mut ResNetWorkspace,
    ) -> Result<()> {
        let dim = self.output_dim(output)?;
        let need = shape
            .n
            .checked_mul(dim)
            .ok_or_else(|| Error::InvalidArgument("batch size overflows".into()))?;
        if out.len() < need {
            return Err(Error::InvalidArgument(format!(
                "output buffer holds {} floats, {need} needed",
                out.len()
            )));
        }
        self.prepare(shape, ws)?;
        let cw = &mut ws.conv[..];
        let [a, b, _] = rotate(&mut ws.act, 0);
        let s = self.stem.run(shape, input, a, None, cw).layer("conv1")?;
        let mut s = self.pool.run(s, a, b).layer("maxpool")?;
        let mut cur = 1;
        for blk in &self.blocks {
            let [x, t, u] = rotate(&mut ws.act, cur);
            let name = &blk.name;
            let h = blk.conv1.run(s, x, t, None, cw).layer(name)?;
            s = match &blk.down {
                Some(d) => {
                    let id = d.run(s, x, u, None, cw).layer(name)?;
                    let len = id.len().layer(name)?;
                    blk.conv2.run(h, t, x, Some(&u[..len]), cw).layer(name)?
                }
                None => {
                    let len = s.len().layer(name)?;
                    let out = blk.conv2.run(h, t, u, Some(&x[..len]), cw).layer(name)?;
                    cur = (cur + 2) % 3;
                    out
                }
            };
        }
        let x = &ws.act[cur];
        let pooled = &mut ws.pooled[..shape.n * self.features];
        self.gap.run(s, x, pooled).layer("avgpool")?;
        match (output, &self.fc) {
            (Output::Logits, Some(fc)) => fc.run(shape.n, pooled, &mut out[..need]).layer("fc"),
            _ => {
                out[..need].copy_from_slice(pooled);
                Ok(())
            }
        }
    }
}
