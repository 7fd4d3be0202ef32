//! A MobileNet built from `ruvector-cnn-kernels` operators: BatchNorm folded into every conv
//! at load, weights packed once, kernels chosen once. `forward` runs on a caller-owned
//! [`Workspace`] and allocates nothing once the workspace has seen the input size.

use std::fmt;

use ruvector_cnn_kernels::ops::{
    BatchNormDesc, Conv2d, Conv2dDesc, ConvAlgorithm, DepthwiseConv2d, DepthwiseDesc,
    GlobalAvgPool, HasPacked, Linear, LinearDesc, Nhwc, Packed, Padding, Pointwise, PointwiseDesc,
    SqueezeExcite, SqueezeExciteDesc, share_packed,
};
use ruvector_cnn_kernels::parallel::{MAX_THREADS, ThreadPool};
use ruvector_cnn_kernels::{Activation, KernelTable};

use crate::arch::{Arch, BlockSpec, ConvBn, LinearSpec, SeSpec, Spec};
use crate::buffers::grow;
use crate::error::{Error, OpContext, Result};
use crate::split;
use crate::weights::{Reader, Weights};

mod banded;

/// Which tensor a forward pass returns per image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Output {
    /// The globally average-pooled last feature map (the usual embedding; 576/960/1280-d).
    #[default]
    Pooled,
    /// The input of the final classifier layer (MobileNetV3: the 1024/1280-d hard-swish
    /// features; MobileNetV2: the same as `Pooled`).
    Penultimate,
    /// Class scores (needs a model loaded with its classifier).
    Logits,
}

impl Output {
    /// Every output, in pipeline order.
    pub const ALL: [Output; 3] = [Output::Pooled, Output::Penultimate, Output::Logits];

    /// Lower-case name (`"pooled"`).
    pub const fn name(self) -> &'static str {
        match self {
            Output::Pooled => "pooled",
            Output::Penultimate => "penultimate",
            Output::Logits => "logits",
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Time and work of one layer of a forward pass ([`Network::profile`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTime {
    /// Layer name (torchvision key prefix and role, e.g. `features.4 dw`).
    pub layer: String,
    /// Id of the kernel that did the work.
    pub kernel: &'static str,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Floating-point operations (a multiply-add counts 2).
    pub flops: f64,
}

/// Observes a forward pass layer by layer; [`NoProbe`] compiles to nothing.
trait Probe {
    /// Whether blocks may run band by band ([`banded`]), which never materialises the
    /// expanded activation, and whose layers are timed as one.
    const BANDED: bool = false;

    /// Sees the activation `name` of one image (minus `minus` elementwise, when given: the
    /// projection output before its residual add). The quantization points of
    /// [`Network::observe`].
    #[inline(always)]
    fn tensor(&mut self, _name: impl FnOnce() -> String, _data: &[f32], _minus: Option<&[f32]>) {}

    /// Whether the probe changes activations ([`Probe::edit`]); only then does a block copy
    /// its input for the `{block}.input` edit.
    const EDITS: bool = false;

    /// May change the activation `name` in place (when `minus` is given, `data − minus` is the
    /// projection before its residual add, and the edit keeps `minus` added): the points of
    /// [`Network::simulate`], called just before [`Probe::tensor`] sees them.
    #[inline(always)]
    fn edit(&mut self, _name: impl FnOnce() -> String, _data: &mut [f32], _minus: Option<&[f32]>) {}

    /// A quantization point: [`Probe::edit`], then [`Probe::tensor`] on the result.
    #[inline(always)]
    fn point(&mut self, name: impl Fn() -> String, data: &mut [f32], minus: Option<&[f32]>) {
        self.edit(&name, data, minus);
        self.tensor(&name, data, minus);
    }

    /// Sees the channel means and hidden activations of block `name`'s squeeze-excitation
    /// `q`, left in its workspace `ws` by the last run.
    #[inline(always)]
    fn se_internals(&mut self, _name: &str, _q: &SqueezeExcite, _ws: &[f32]) -> Result<()> {
        Ok(())
    }

    /// Runs `f`, the layer `name()` doing `flops` operations with `kernel` (by default just
    /// runs it).
    #[inline(always)]
    fn layer<T>(
        &mut self,
        _name: impl FnOnce() -> String,
        _kernel: &'static str,
        _flops: impl FnOnce(&T) -> f64,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        f()
    }
}

/// The probe of a plain forward pass.
struct NoProbe;

/// A probe that hands every activation to a callback ([`Network::observe`]).
struct Observer<'a>(&'a mut ActivationObserver<'a>);

/// The callback of [`Network::observe`]: `(name, data, minus)`.
pub type ActivationObserver<'a> = dyn FnMut(&str, &[f32], Option<&[f32]>) + 'a;

/// A probe that lets a callback change every activation ([`Network::simulate`]).
struct Editor<'a>(&'a mut ActivationEditor<'a>);

/// The callback of [`Network::simulate`]: `(name, data, minus)`, `data` to change in place.
pub type ActivationEditor<'a> = dyn FnMut(&str, &mut [f32], Option<&[f32]>) + 'a;

impl Probe for Editor<'_> {
    const EDITS: bool = true;

    fn edit(&mut self, name: impl FnOnce() -> String, data: &mut [f32], minus: Option<&[f32]>) {
        (self.0)(&name(), data, minus);
    }
}

impl Probe for Observer<'_> {
    fn tensor(&mut self, name: impl FnOnce() -> String, data: &[f32], minus: Option<&[f32]>) {
        (self.0)(&name(), data, minus);
    }

    fn se_internals(&mut self, name: &str, q: &SqueezeExcite, ws: &[f32]) -> Result<()> {
        let (pooled, hidden) = q.observed(ws).layer(name)?;
        self.tensor(|| format!("{name}.se_pool"), pooled, None);
        self.tensor(|| format!("{name}.se_hidden"), hidden, None);
        Ok(())
    }
}

impl Probe for NoProbe {
    const BANDED: bool = true;
}

impl Probe for Vec<LayerTime> {
    const BANDED: bool = true;

    fn layer<T>(
        &mut self,
        name: impl FnOnce() -> String,
        kernel: &'static str,
        flops: impl FnOnce(&T) -> f64,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let t = std::time::Instant::now();
        let r = f()?;
        let seconds = t.elapsed().as_secs_f64();
        self.push(LayerTime {
            layer: name(),
            kernel,
            seconds,
            flops: flops(&r),
        });
        Ok(r)
    }
}

/// `2 · output elements · multiply-adds per element`.
fn macs2(out: Nhwc, per_element: usize) -> f64 {
    2.0 * (out.n * out.h * out.w * out.c) as f64 * per_element as f64
}

/// One inverted-residual block, ready to run.
struct Block {
    name: String,
    expand: Option<Pointwise>,
    dw: DepthwiseConv2d,
    se: Option<SqueezeExcite>,
    project: Pointwise,
    residual: bool,
}

/// A loaded network.
pub struct Network {
    arch: Arch,
    width_mult: f32,
    stem: Conv2d,
    blocks: Vec<Block>,
    last: Pointwise,
    pool: GlobalAvgPool,
    /// Channels of the last conv (the pooled embedding's width).
    features: usize,
    head: Vec<Linear>,
    /// Splits each image's convolutions over cores (see [`Network::set_threads`]).
    threads: Option<ThreadPool>,
}

/// Scratch memory of a forward pass; reusable across calls and grown only when an input
/// needs more than it has.
#[derive(Default)]
pub struct Workspace {
    act: [Vec<f32>; 3],
    se: Vec<f32>,
    /// Band buffers of the blocks that run band by band, one per core of the pool.
    band: Vec<f32>,
    pooled: Vec<f32>,
    head: [Vec<f32>; 2],
}

/// The three activation buffers, rotated so that `cur` comes first.
pub(crate) fn rotate(bufs: &mut [Vec<f32>; 3], cur: usize) -> [&mut Vec<f32>; 3] {
    let [a, b, c] = bufs;
    match cur {
        0 => [a, b, c],
        1 => [b, c, a],
        _ => [c, a, b],
    }
}

/// Workspace sizes (floats) a forward pass needs.
#[derive(Clone, Copy, Debug, Default)]
struct Sizes {
    /// The largest activation.
    most: usize,
    /// The largest squeeze-excitation workspace.
    se: usize,
    /// The largest band buffer of a block run band by band (for one core).
    band: usize,
}

impl Sizes {
    /// Grows the activation, squeeze-excitation and band buffers of `ws` to these sizes.
    fn grow(&self, ws: &mut Workspace) {
        for b in &mut ws.act {
            grow(b, self.most);
        }
        grow(&mut ws.se, self.se);
        grow(&mut ws.band, self.band);
    }
}

/// The output shape of `blocks` run on `s`, raising `sizes` to what they need.
fn blocks_sizes(blocks: &[Block], mut s: Nhwc, sizes: &mut Sizes) -> Result<Nhwc> {
    for b in blocks {
        let mut most = |t: Nhwc| -> Result<Nhwc> {
            sizes.most = sizes.most.max(t.len().layer(&b.name)?);
            Ok(t)
        };
        let input = s;
        if let Some(e) = &b.expand {
            s = most(e.output_shape(s).layer(&b.name)?)?;
        }
        s = most(b.dw.output_shape(s).layer(&b.name)?)?;
        s = most(b.project.output_shape(s).layer(&b.name)?)?;
        if let Some(q) = &b.se {
            sizes.se = sizes.se.max(q.workspace_len());
        }
        let one = Nhwc { n: 1, ..input };
        if let Some(p) = banded::plan(b, one)? {
            sizes.band = sizes.band.max(p.floats);
        }
    }
    Ok(s)
}

/// Leading blocks run in f32 inside the INT8 network (its precise head, for weights whose
/// first layers amplify any input error; see `quantized::quantize_network`).
pub(crate) struct F32Blocks(Vec<Block>);

impl F32Blocks {
    /// Builds `specs` (f32, BN folded) with kernels from `t`.
    pub(crate) fn new(
        r: &Reader<'_>,
        specs: &[BlockSpec],
        eps: f32,
        t: &KernelTable,
    ) -> Result<Self> {
        specs
            .iter()
            .map(|b| block(r, b, eps, t))
            .collect::<Result<_>>()
            .map(F32Blocks)
    }

    /// Grows `ws` for the blocks run on an `s`-shaped input (which `ws.act[0]` must hold).
    pub(crate) fn prepare(&self, s: Nhwc, ws: &mut Workspace) -> Result<()> {
        self.sizes(s)?.0.grow(ws);
        Ok(())
    }

    /// The workspace sizes of the blocks run on `s` and their output shape.
    fn sizes(&self, s: Nhwc) -> Result<(Sizes, Nhwc)> {
        let mut sizes = Sizes {
            most: s.len().layer("input")?,
            ..Sizes::default()
        };
        let out = blocks_sizes(&self.0, s, &mut sizes)?;
        Ok((sizes, out))
    }

    /// Runs the blocks on the `s`-shaped tensor in `ws.act[0]` (after [`F32Blocks::prepare`]);
    /// returns the output shape and the output itself.
    pub(crate) fn run<'w>(
        &self,
        s: Nhwc,
        ws: &'w mut Workspace,
        pool: Option<&ThreadPool>,
    ) -> Result<(Nhwc, &'w [f32])> {
        let (s, cur) = self.run_in_place(s, ws, pool)?;
        let n = s.len().layer("f32 head")?;
        Ok((s, &ws.act[cur][..n]))
    }

    /// [`F32Blocks::run`], returning the output shape and which of `ws.act` holds the output.
    fn run_in_place(
        &self,
        s: Nhwc,
        ws: &mut Workspace,
        pool: Option<&ThreadPool>,
    ) -> Result<(Nhwc, usize)> {
        let (mut s, mut cur) = (s, 0);
        for b in &self.0 {
            (s, cur) = run_block(b, s, cur, ws, &mut NoProbe, pool)?;
        }
        Ok((s, cur))
    }

    /// Mutable access to the input buffer (`ws.act[0]`, after [`F32Blocks::prepare`]).
    pub(crate) fn input<'w>(&self, ws: &'w mut Workspace) -> &'w mut [f32] {
        &mut ws.act[0]
    }

    /// Ids of the kernels of each block: `(block name, ids)`.
    pub(crate) fn kernels(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|b| {
                let mut ids = Vec::new();
                if let Some(e) = &b.expand {
                    ids.push(e.kernel_id());
                }
                ids.push(b.dw.kernel_id());
                if let Some(q) = &b.se {
                    ids.extend(q.kernel_ids());
                }
                ids.push(b.project.kernel_id());
                (b.name.clone(), ids.join(" "))
            })
            .collect()
    }
}

/// Trailing blocks, the last convolution and the global average pool run in f32 inside the
/// INT8 network (its precise tail, where 8-bit activation noise has accumulated; see
/// `quantized::quantize_network`).
pub(crate) struct F32Tail {
    blocks: F32Blocks,
    last: Pointwise,
    pool: GlobalAvgPool,
}

impl F32Tail {
    /// Builds the blocks `specs` and the `last` conv (f32, BN folded) with kernels from `t`.
    pub(crate) fn new(
        r: &Reader<'_>,
        specs: &[BlockSpec],
        last: &ConvBn,
        eps: f32,
        t: &KernelTable,
    ) -> Result<Self> {
        Ok(F32Tail {
            blocks: F32Blocks::new(r, specs, eps, t)?,
            last: pointwise(r, last, eps, false, t)?,
            pool: GlobalAvgPool::new(last.cout, t).layer("avgpool")?,
        })
    }

    /// Mutable access to the input buffer (`ws.act[0]`, after [`F32Tail::prepare`]).
    pub(crate) fn input<'w>(&self, ws: &'w mut Workspace) -> &'w mut [f32] {
        self.blocks.input(ws)
    }

    /// Grows `ws` for the tail run on an `s`-shaped input (which `ws.act[0]` must hold).
    pub(crate) fn prepare(&self, s: Nhwc, ws: &mut Workspace) -> Result<()> {
        let (mut sizes, out) = self.blocks.sizes(s)?;
        let out = self.last.output_shape(out).layer("last conv")?;
        sizes.most = sizes.most.max(out.len().layer("last conv")?);
        sizes.grow(ws);
        Ok(())
    }

    /// Runs the tail on the `s`-shaped tensor in `ws.act[0]` (after [`F32Tail::prepare`]),
    /// writing the pooled features to `out`.
    pub(crate) fn run(
        &self,
        s: Nhwc,
        ws: &mut Workspace,
        pool: Option<&ThreadPool>,
        out: &mut [f32],
    ) -> Result<()> {
        let (s, cur) = self.blocks.run_in_place(s, ws, pool)?;
        let [x, t, _] = rotate(&mut ws.act, cur);
        let s = pointwise_rows(pool, &self.last, s, x, t, None, "last conv")?;
        let n = s.len().layer("last conv")?;
        self.pool.run(s, &t[..n], out).layer("avgpool")
    }

    /// Ids of the kernels of each block, the last conv and the pool: `(name, ids)`.
    pub(crate) fn kernels(&self) -> Vec<(String, String)> {
        let mut out = self.blocks.kernels();
        out.push(("last conv".into(), self.last.kernel_id().to_string()));
        out.push(("avgpool".into(), self.pool.kernel_id().to_string()));
        out
    }
}

/// The folded `(weights, bias)` of a conv + BN.
pub(crate) fn fold(r: &Reader<'_>, c: &ConvBn, eps: f32) -> Result<(Vec<f32>, Vec<f32>)> {
    let per_out = if c.depthwise { 1 } else { c.cin };
    let w = r.take(&c.weight, &[c.cout, per_out, c.kernel, c.kernel])?;
    let bn = |p: &str| r.take(&format!("{}.{p}", c.bn), &[c.cout]);
    let desc = BatchNormDesc {
        channels: c.cout,
        gamma: bn("weight")?,
        beta: bn("bias")?,
        mean: bn("running_mean")?,
        var: bn("running_var")?,
        eps,
        activation: c.act,
    };
    desc.fold_into(w, None).layer(&c.bn)
}

pub(crate) fn pointwise(
    r: &Reader<'_>,
    c: &ConvBn,
    eps: f32,
    residual: bool,
    t: &KernelTable,
) -> Result<Pointwise> {
    let (w, b) = fold(r, c, eps)?;
    let desc = PointwiseDesc {
        cin: c.cin,
        cout: c.cout,
        weights: &w,
        bias: Some(&b),
        activation: c.act,
        residual,
    };
    Pointwise::new(&desc, t).layer(&c.weight)
}

pub(crate) fn depthwise(
    r: &Reader<'_>,
    c: &ConvBn,
    eps: f32,
    t: &KernelTable,
) -> Result<DepthwiseConv2d> {
    let (w, b) = fold(r, c, eps)?;
    let desc = DepthwiseDesc {
        channels: c.cout,
        kernel: c.kernel,
        stride: c.stride,
        padding: Padding::same((c.kernel - 1) / 2),
        weights: &w,
        bias: Some(&b),
        activation: c.act,
    };
    DepthwiseConv2d::new(&desc, t).layer(&c.weight)
}

/// A dense conv + BN (folded; padding `(k − 1)/2`), adding a residual before its activation
/// when `residual`, computed by `algorithm`.
pub(crate) fn dense(
    r: &Reader<'_>,
    c: &ConvBn,
    eps: f32,
    residual: bool,
    algorithm: ConvAlgorithm,
    t: &KernelTable,
) -> Result<Conv2d> {
    let (w, b) = fold(r, c, eps)?;
    let desc = Conv2dDesc {
        cin: c.cin,
        cout: c.cout,
        kernel: c.kernel,
        stride: c.stride,
        padding: Padding::same((c.kernel - 1) / 2),
        weights: &w,
        bias: Some(&b),
        activation: c.act,
        residual,
        algorithm,
    };
    Conv2d::new(&desc, t).layer(&c.weight)
}

pub(crate) fn squeeze_excite(r: &Reader<'_>, s: &SeSpec, t: &KernelTable) -> Result<SqueezeExcite> {
    let (c, q) = (s.channels, s.squeeze);
    let key = |k: &str| format!("{}.{k}", s.prefix);
    let desc = SqueezeExciteDesc {
        channels: c,
        squeeze: q,
        fc1_weights: r.take(&key("fc1.weight"), &[q, c, 1, 1])?,
        fc1_bias: Some(r.take(&key("fc1.bias"), &[q])?),
        fc2_weights: r.take(&key("fc2.weight"), &[c, q, 1, 1])?,
        fc2_bias: Some(r.take(&key("fc2.bias"), &[c])?),
        inner: Activation::Relu,
        gate: Activation::Hsigmoid,
    };
    SqueezeExcite::new(&desc, t).layer(&s.prefix)
}

fn block(r: &Reader<'_>, b: &BlockSpec, eps: f32, t: &KernelTable) -> Result<Block> {
    Ok(Block {
        name: b.name.clone(),
        expand: b
            .expand
            .as_ref()
            .map(|e| pointwise(r, e, eps, false, t))
            .transpose()?,
        dw: depthwise(r, &b.dw, eps, t)?,
        se: b.se.as_ref().map(|s| squeeze_excite(r, s, t)).transpose()?,
        project: pointwise(r, &b.project, eps, b.residual, t)?,
        residual: b.residual,
    })
}

/// The classifier, or `None` when the weights hold none of its tensors (a feature extractor).
fn head(r: &Reader<'_>, specs: &[LinearSpec], t: &KernelTable) -> Result<Vec<Linear>> {
    let present = specs
        .iter()
        .any(|s| r.has(&format!("{}.weight", s.prefix)) || r.has(&format!("{}.bias", s.prefix)));
    if !present {
        return Ok(Vec::new());
    }
    let mut layers = Vec::new();
    for s in specs {
        let wkey = format!("{}.weight", s.prefix);
        let outputs = match s.outputs {
            Some(o) => o,
            None => match r.shape(&wkey) {
                Some(&[o, _]) if o > 0 => o,
                Some(shape) => {
                    return Err(Error::Shape {
                        key: wkey,
                        expected: vec![0, s.inputs],
                        actual: shape.to_vec(),
                    });
                }
                None => return Err(Error::MissingKey(wkey)),
            },
        };
        let desc = LinearDesc {
            in_features: s.inputs,
            out_features: outputs,
            weights: r.take(&wkey, &[outputs, s.inputs])?,
            bias: Some(r.take(&format!("{}.bias", s.prefix), &[outputs])?),
            activation: s.act,
        };
        layers.push(Linear::new(&desc, t).layer(&s.prefix)?);
    }
    Ok(layers)
}

impl Network {
    /// Builds `arch` at `width_mult` from torchvision-named `weights`, with kernels from
    /// `table`. Every tensor must be used: missing, extra, misshapen or non-finite tensors are
    /// errors naming the key. The classifier is optional (all of it or none).
    pub fn new(
        arch: Arch,
        width_mult: f32,
        weights: &Weights,
        table: &KernelTable,
    ) -> Result<Self> {
        let spec = Spec::new(arch, width_mult)?;
        let eps = arch.bn_eps();
        let r = Reader::new(weights);
        let mut net = Network {
            arch,
            width_mult,
            stem: dense(&r, &spec.stem, eps, false, ConvAlgorithm::Auto, table)?,
            blocks: spec
                .blocks
                .iter()
                .map(|b| block(&r, b, eps, table))
                .collect::<Result<_>>()?,
            last: pointwise(&r, &spec.last, eps, false, table)?,
            pool: GlobalAvgPool::new(spec.last.cout, table).layer("avgpool")?,
            features: spec.last.cout,
            head: head(&r, &spec.head, table)?,
            threads: None,
        };
        r.finish()?;
        net.share_weights();
        Ok(net)
    }

    /// Moves the packed weights of every GEMM and depthwise layer into one huge-page block
    /// ([`share_packed`]): a batch-1 pass reads them all, and in 4 KiB pages they overflow the
    /// data TLB.
    fn share_weights(&mut self) {
        share_packed(&mut self.packed_buffers());
    }

    /// The packed weights of every GEMM and depthwise layer, in network order.
    fn packed_buffers(&mut self) -> Vec<&mut Packed> {
        let mut bufs = Vec::new();
        for b in &mut self.blocks {
            if let Some(e) = &mut b.expand {
                e.packed_buffers(&mut bufs);
            }
            b.dw.packed_buffers(&mut bufs);
            if let Some(se) = &mut b.se {
                se.packed_buffers(&mut bufs);
            }
            b.project.packed_buffers(&mut bufs);
        }
        self.last.packed_buffers(&mut bufs);
        for l in &mut self.head {
            l.packed_buffers(&mut bufs);
        }
        bufs
    }

    /// Builds the architecture the weights' metadata names (`arch`, and `width_mult`
    /// defaulting to 1.0), as written by this library and `tools/export_torchvision.py`.
    pub fn from_metadata(weights: &Weights, table: &KernelTable) -> Result<Self> {
        let arch: Arch = weights
            .metadata("arch")
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "the weights do not say which architecture they are for (no `arch` \
                     metadata); name the model explicitly"
                        .into(),
                )
            })?
            .parse()?;
        let width = match weights.metadata("width_mult") {
            None => 1.0,
            Some(w) => w
                .parse()
                .map_err(|_| Error::Format(format!("metadata width_mult `{w}` is not a number")))?,
        };
        Network::new(arch, width, weights, table)
    }

    /// Splits the convolutions of every image over `threads` cores from now on (a persistent
    /// pool; 1 or 0 = this thread only, the default). Concurrent `forward` calls on one
    /// network take turns with the pool: a call that finds it busy runs its layers alone.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.threads = split::pool(threads)?;
        Ok(())
    }

    /// Cores each image's convolutions are split over.
    pub fn threads(&self) -> usize {
        self.threads.as_ref().map_or(1, ThreadPool::threads)
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The width multiplier.
    pub fn width_mult(&self) -> f32 {
        self.width_mult
    }

    /// Whether the classifier was loaded (so `Penultimate` and `Logits` are available).
    pub fn has_classifier(&self) -> bool {
        !self.head.is_empty()
    }

    /// Values per image of `output`, or an error if the model cannot produce it.
    pub fn output_dim(&self, output: Output) -> Result<usize> {
        match (output, self.head.as_slice()) {
            (Output::Pooled, _) => Ok(self.features),
            (Output::Penultimate, [.., last]) => Ok(last.in_features()),
            (Output::Logits, [.., last]) => Ok(last.out_features()),
            (_, []) => Err(Error::Unsupported(format!(
                "{output} output: this {} was loaded without its classifier",
                self.arch
            ))),
        }
    }

    /// `(layer, kernel ids)` of every layer, in order (for `rvcnn info` and logs).
    pub fn kernels(&self) -> Vec<(String, String)> {
        let mut out = vec![("features.0".to_string(), self.stem.kernel_id().to_string())];
        for b in &self.blocks {
            let mut ids = Vec::new();
            if let Some(e) = &b.expand {
                ids.push(e.kernel_id());
            }
            ids.push(b.dw.kernel_id());
            if let Some(se) = &b.se {
                ids.extend(se.kernel_ids());
            }
            ids.push(b.project.kernel_id());
            out.push((b.name.clone(), ids.join(" ")));
        }
        out.push(("last conv".into(), self.last.kernel_id().to_string()));
        out.push(("avgpool".into(), self.pool.kernel_id().to_string()));
        for (i, l) in self.head.iter().enumerate() {
            out.push((format!("classifier[{i}]"), l.kernel_id().to_string()));
        }
        out
    }

    /// Workspace sizes for `input` (one core's band), and the last feature map's shape.
    fn sizes(&self, input: Nhwc) -> Result<(Sizes, Nhwc)> {
        if input.c != 3 {
            return Err(Error::InvalidArgument(format!(
                "input must have 3 channels (RGB), got {}",
                input.c
            )));
        }
        let s = self.stem.output_shape(input).layer("features.0")?;
        let mut sizes = Sizes {
            most: s.len().layer("features.0")?,
            ..Sizes::default()
        };
        let s = blocks_sizes(&self.blocks, s, &mut sizes)?;
        let s = self.last.output_shape(s).layer("last conv")?;
        sizes.most = sizes.most.max(s.len().layer("last conv")?);
        Ok((sizes, s))
    }

    /// Grows `ws` for a batch of `input`; returns the last feature map's shape.
    fn prepare(&self, input: Nhwc, ws: &mut Workspace) -> Result<Nhwc> {
        let (mut sizes, last) = self.sizes(input)?;
        // A band buffer per core of the pool (see `banded::run`).
        sizes.band *= self.threads();
        sizes.grow(ws);
        grow(&mut ws.pooled, last.n * last.c);
        for (h, l) in ws.head.iter_mut().zip(&self.head) {
            grow(h, last.n * l.out_features());
        }
        Ok(last)
    }

    /// A workspace already sized for images of `input`'s height and width (so `forward` on
    /// such inputs, of any batch size, does not allocate).
    pub fn workspace(&self, input: Nhwc) -> Result<Workspace> {
        let mut ws = Workspace::default();
        self.prepare(input, &mut ws)?;
        Ok(ws)
    }

    /// Runs the network on a batch of NHWC images (`input_shape.c == 3`, values already
    /// normalised), writing `output_dim(output)` values per image to the front of `out`.
    /// Returns the number of values written.
    pub fn forward(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: Output,
        out: &mut [f32],
        ws: &mut Workspace,
    ) -> Result<usize> {
        let dim = self.output_dim(output)?;
        let n = input_shape.n;
        let total = n
            .checked_mul(dim)
            .ok_or_else(|| Error::InvalidArgument("batch too large".into()))?;
        if out.len() < total {
            return Err(Error::InvalidArgument(format!(
                "output buffer holds {} floats, {n} x {dim} needed",
                out.len()
            )));
        }
        if n == 0 {
            return Err(Error::InvalidArgument("batch of zero images".into()));
        }
        // Images run one at a time through the whole network: a layer's activations for one
        // image stay in cache, where a whole batch per layer would not.
        let one = Nhwc {
            n: 1,
            ..input_shape
        };
        let image = one.len().layer("input")?;
        if input.len() / image < n {
            return Err(Error::InvalidArgument(format!(
                "input holds {} floats, {n} images of {image} needed",
                input.len()
            )));
        }
        self.prepare(one, ws)?;
        for (x, y) in input
            .chunks_exact(image)
            .zip(out.chunks_exact_mut(dim))
            .take(n)
        {
            self.forward_image(one, x, output, y, ws, &mut NoProbe)?;
        }
        Ok(total)
    }

    /// One image (`shape.n == 1`) through the network into `out[..dim]`; `ws` is prepared.
    fn forward_image(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: Output,
        out: &mut [f32],
        ws: &mut Workspace,
        probe: &mut impl Probe,
    ) -> Result<()> {
        let dim = out.len();
        let cin = input_shape.c;
        let pool = self.threads.as_ref();
        let mut shape = probe.layer(
            || "features.0 conv".into(),
            self.stem.kernel_id(),
            |o: &Nhwc| macs2(*o, cin * 9),
            || {
                let out = self.stem.output_shape(input_shape).layer("features.0")?;
                let row = out.w * out.c;
                split::rows(pool, &mut ws.act[0], out.h, row, 1, |y, r| {
                    self.stem
                        .run_rows(input_shape, input, y, r, None, &mut [])
                        .layer("features.0")
                })?;
                Ok(out)
            },
        )?;
        let stem_out = &mut ws.act[0][..shape.len().layer("features.0")?];
        probe.point(|| "features.0".into(), stem_out, None);
        let mut cur = 0;
        for b in &self.blocks {
            (shape, cur) = run_block(b, shape, cur, ws, probe, pool)?;
        }
        let [x, t, _] = rotate(&mut ws.act, cur);
        let c_last = shape.c;
        let s = probe.layer(
            || "last conv".into(),
            self.last.kernel_id(),
            |o: &Nhwc| macs2(*o, c_last),
            || pointwise_rows(pool, &self.last, shape, x, t, None, "last conv"),
        )?;
        let last = &mut t[..s.len().layer("last conv")?];
        probe.point(|| "last".into(), last, None);
        probe.layer(
            || "avgpool".into(),
            self.pool.kernel_id(),
            |_: &()| (s.n * s.h * s.w * s.c) as f64,
            || self.pool.run(s, t, &mut ws.pooled).layer("avgpool"),
        )?;
        let stop = match output {
            Output::Pooled => 0,
            Output::Penultimate => self.head.len() - 1,
            Output::Logits => self.head.len(),
        };
        let Workspace { pooled, head, .. } = ws;
        let [h0, h1] = head;
        for (i, l) in self.head[..stop].iter().enumerate() {
            let (src, dst): (&[f32], &mut [f32]) = match i % 2 {
                _ if i == 0 => (pooled, h0),
                1 => (h0, h1),
                _ => (h1, h0),
            };
            let flops = 2.0 * (l.in_features() * l.out_features()) as f64;
            probe.layer(
                || format!("classifier[{i}]"),
                l.kernel_id_for(1),
                |_: &()| flops,
                || {
                    l.run(1, src, dst).map_err(|source| Error::Op {
                        layer: format!("classifier[{i}]"), // formatted only on error
                        source,
                    })
                },
            )?;
        }
        let result: &[f32] = match stop {
            0 => pooled,
            s if s % 2 == 1 => h0,
            _ => h1,
        };
        out.copy_from_slice(&result[..dim]);
        Ok(())
    }
}

impl Network {
    /// One forward pass of the first image of `input`, timing every layer (for per-layer
    /// profiles; slower than `forward` only by the clock reads). A block that runs band by
    /// band (see `network/banded.rs`) is one entry, `{block} banded`, with the depthwise
    /// kernel's id and the FLOPs of its three convolutions.
    pub fn profile(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: Output,
        ws: &mut Workspace,
    ) -> Result<Vec<LayerTime>> {
        let dim = self.output_dim(output)?;
        let one = Nhwc {
            n: 1,
            ..input_shape
        };
        self.prepare(one, ws)?;
        let mut out = vec![0.0; dim];
        let mut times = Vec::new();
        self.forward_image(one, input, output, &mut out, ws, &mut times)?;
        Ok(times)
    }

    /// Runs the first image of `input` and calls `observe(name, data, minus)` for every
    /// activation a quantized model quantizes, in order: `features.0` (stem output); per
    /// block `{block}.expand` (if any); with squeeze-excitation `{block}.se_in` (the
    /// depthwise output before it), `{block}.se_pool` (its channel means) and
    /// `{block}.se_hidden` (its hidden layer after ReLU); `{block}.dw`, `{block}.project` (the projection before
    /// its residual add: `data − minus` when `minus` is given) and `{block}` (the block
    /// output); `last` (the last conv's output). `{block}` is the torchvision prefix
    /// (`features.3`).
    pub fn observe(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        ws: &mut Workspace,
        observe: &mut ActivationObserver<'_>,
    ) -> Result<()> {
        let mut out = vec![0.0; self.features];
        self.pooled_first(input_shape, input, &mut out, ws, &mut Observer(observe))
    }

    /// The pooled embedding of the first image of `input` into `out`, seen by `probe`.
    fn pooled_first(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        out: &mut [f32],
        ws: &mut Workspace,
        probe: &mut impl Probe,
    ) -> Result<()> {
        let one = Nhwc {
            n: 1,
            ..input_shape
        };
        self.prepare(one, ws)?;
        self.forward_image(one, input, Output::Pooled, out, ws, probe)
    }

    /// Runs the first image of `input` to its pooled embedding (`out`, as many values as
    /// [`Network::output_dim`] of [`Output::Pooled`]) and lets `edit(name, data, minus)`
    /// change activations in place as they are produced: the points of [`Network::observe`] except the squeeze-excitation
    /// internals (`se_in`, `se_pool`, `se_hidden`), plus `{block}.input`, a copy of the block
    /// input that only its first layer reads (the residual add keeps the original). For
    /// `{block}.project` with `minus`, `data − minus` is the projection and `minus` (the
    /// residual) must stay added. Used to simulate other quantization widths
    /// ([`crate::quantized::simulate`]). Copies each block input, so it allocates.
    pub fn simulate(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        out: &mut [f32],
        ws: &mut Workspace,
        edit: &mut ActivationEditor<'_>,
    ) -> Result<()> {
        if out.len() != self.features {
            return Err(Error::InvalidArgument(format!(
                "simulate writes {} values, not {}",
                self.features,
                out.len()
            )));
        }
        self.pooled_first(input_shape, input, out, ws, &mut Editor(edit))
    }

    /// The input of the trainable tail of `blocks` blocks plus the last convolution
    /// ([`crate::contrastive::Tail`]) for one image (`input_shape.n == 1`): the output of the
    /// block before the tail (or of the stem) into `out` (`height × width × channels`
    /// values); returns `(height, width)`. Runs the whole network once.
    pub fn tail_input(
        &self,
        blocks: usize,
        input_shape: Nhwc,
        input: &[f32],
        ws: &mut Workspace,
        out: &mut Vec<f32>,
    ) -> Result<(usize, usize)> {
        if input_shape.n != 1 || blocks > self.blocks.len() {
            return Err(Error::InvalidArgument(format!(
                "tail_input takes one image and at most {} blocks",
                self.blocks.len()
            )));
        }
        let split = self.blocks.len() - blocks;
        let mut s = self.stem.output_shape(input_shape).layer("features.0")?;
        s = blocks_sizes(&self.blocks[..split], s, &mut Sizes::default())?;
        let name = match split {
            0 => "features.0".to_string(),
            k => self.blocks[k - 1].name.clone(),
        };
        out.clear();
        self.observe(input_shape, input, ws, &mut |n, data, _| {
            if n == name {
                out.extend_from_slice(data);
            }
        })?;
        Ok((s.h, s.w))
    }

    /// Like [`Network::forward`], with the batch split into `workspaces.len()` contiguous
    /// parts (one workspace each), run on the network's persistent pool when it has that many
    /// threads ([`Network::set_threads`]), else on scoped threads spawned for the call.
    /// Returns the number of values written.
    pub fn forward_parallel(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        output: Output,
        out: &mut [f32],
        workspaces: &mut [Workspace],
    ) -> Result<usize> {
        let threads = workspaces.len().min(input_shape.n);
        if threads <= 1 {
            let ws = workspaces.first_mut().ok_or_else(|| {
                Error::InvalidArgument("forward_parallel needs at least one workspace".into())
            })?;
            return self.forward(input_shape, input, output, out, ws);
        }
        let dim = self.output_dim(output)?;
        let image = input_shape.image_len().layer("input")?;
        let n = input_shape.n;
        let (need_in, need_out) = (n.checked_mul(image), n.checked_mul(dim));
        match (need_in, need_out) {
            (Some(i), Some(o)) if input.len() >= i && out.len() >= o => {}
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "buffers too small for a batch of {n} ({} input, {} output floats)",
                    input.len(),
                    out.len()
                )));
            }
        }
        let per = n.div_ceil(threads);
        let parts = input[..n * image]
            .chunks(per * image)
            .zip(out[..n * dim].chunks_mut(per * dim))
            .zip(workspaces.iter_mut());
        match self.threads.as_ref().filter(|p| p.threads() >= threads) {
            // The persistent pool: each part runs its images with the pool held, so their
            // layers are not split again.
            Some(pool) => {
                let mut tasks: [Option<BatchPart<'_>>; MAX_THREADS] = std::array::from_fn(|_| None);
                let mut count = 0;
                for ((x, y), ws) in parts.take(MAX_THREADS) {
                    tasks[count] = Some(BatchPart {
                        x,
                        y,
                        ws,
                        result: Ok(0),
                    });
                    count += 1;
                }
                pool.for_each_mut(&mut tasks[..count], |_, task| {
                    if let Some(t) = task {
                        let shape = Nhwc {
                            n: t.x.len() / image,
                            ..input_shape
                        };
                        t.result = self.forward(shape, t.x, output, t.y, t.ws);
                    }
                });
                tasks[..count].iter_mut().try_fold(0, |total, t| {
                    let written = t.take().map_or(Ok(0), |t| t.result)?;
                    Ok(total + written)
                })
            }
            None => std::thread::scope(|s| {
                let jobs: Vec<_> = parts
                    .map(|((x, y), ws)| {
                        s.spawn(move || {
                            let shape = Nhwc {
                                n: x.len() / image,
                                ..input_shape
                            };
                            self.forward(shape, x, output, y, ws)
                        })
                    })
                    .collect();
                jobs.into_iter().try_fold(0, |total, j| {
                    let written = j.join().unwrap_or_else(|_| {
                        Err(Error::InvalidArgument("a forward thread panicked".into()))
                    })?;
                    Ok(total + written)
                })
            }),
        }
    }
}

/// One thread's share of a batch in [`Network::forward_parallel`].
struct BatchPart<'a> {
    x: &'a [f32],
    y: &'a mut [f32],
    ws: &'a mut Workspace,
    result: Result<usize>,
}

/// Runs block `b` whose input (shape `shape`) is in activation buffer `cur`; returns the
/// output shape and the buffer holding it.
/// A pointwise conv of one image, its pixel rows split over `pool`.
fn pointwise_rows(
    pool: Option<&ThreadPool>,
    op: &Pointwise,
    s: Nhwc,
    input: &[f32],
    output: &mut [f32],
    residual: Option<&[f32]>,
    name: &str,
) -> Result<Nhwc> {
    let out = op.output_shape(s).layer(name)?;
    let (pixels, cin, cout) = (s.h * s.w, s.c, out.c);
    split::rows(pool, output, pixels, cout, 16, |y, r| {
        let part = Nhwc::new(1, 1, r.len(), cin);
        let x = input.get(r.start * cin..r.end * cin).unwrap_or_default();
        let res = residual.map(|v| v.get(r.start * cout..r.end * cout).unwrap_or_default());
        op.run(part, x, y, res).map(drop).layer(name)
    })?;
    Ok(out)
}

/// A block's depthwise conv (output rows split over `pool`), then its SE gate in place.
fn dw_se(
    b: &Block,
    s: Nhwc,
    input: &[f32],
    output: &mut [f32],
    se: &mut [f32],
    probe: &mut impl Probe,
    pool: Option<&ThreadPool>,
) -> Result<Nhwc> {
    let name = b.name.as_str();
    let k2 = b.dw.kernel_size() * b.dw.kernel_size();
    let s = probe.layer(
        || format!("{name} dw"),
        b.dw.kernel_id(),
        |o: &Nhwc| macs2(*o, k2),
        || {
            let out = b.dw.output_shape(s).layer(name)?;
            split::rows(pool, output, out.h, out.w * out.c, 1, |y, r| {
                b.dw.run_rows(s, input, y, r).layer(name)
            })?;
            Ok(out)
        },
    )?;
    if let Some(q) = &b.se {
        let n = s.len().layer(name)?;
        probe.tensor(|| format!("{name}.se_in"), &output[..n], None);
        // Pool and scale over the image, two 1-row GEMMs (c·q multiply-adds each).
        let work = 3.0 * (s.n * s.h * s.w * s.c) as f64 + 4.0 * (s.c * q.squeeze()) as f64;
        probe.layer(
            || format!("{name} se"),
            q.kernel_ids()[3],
            |_: &()| work,
            || q.run_in_place(s, output, se).layer(name),
        )?;
        probe.se_internals(name, q, se)?;
    }
    Ok(s)
}

fn run_block<P: Probe>(
    b: &Block,
    shape: Nhwc,
    cur: usize,
    ws: &mut Workspace,
    probe: &mut P,
    pool: Option<&ThreadPool>,
) -> Result<(Nhwc, usize)> {
    // (A workspace prepared for this shape always has the band buffer; without one the
    // block runs layer by layer.)
    if P::BANDED
        && let Some(plan) = banded::plan(b, shape)?
        && ws.band.len() >= plan.floats
    {
        let flops = |&(o, _): &(Nhwc, usize)| {
            let ds = plan.depthwise;
            let expand = b
                .expand
                .as_ref()
                .map_or(0.0, |_| macs2(plan.dw_in, shape.c));
            expand + macs2(ds, b.dw.kernel_size() * b.dw.kernel_size()) + macs2(o, ds.c)
        };
        return probe.layer(
            || format!("{} banded", b.name),
            b.dw.kernel_id(),
            flops,
            || banded::run(b, plan, shape, cur, ws, pool),
        );
    }
    let name = b.name.as_str();
    let Workspace { act, se, .. } = ws;
    let [x, t1, t2] = rotate(act, cur);
    let residual = b.residual.then_some(&x[..]);
    let len = |s: Nhwc| s.len().layer(name);
    // The first layer's input, changed by an editing probe on a copy (the residual add keeps
    // the block input itself).
    let edited;
    let input: &[f32] = if P::EDITS {
        let mut copy = x[..len(shape)?].to_vec();
        probe.edit(|| format!("{name}.input"), &mut copy, None);
        edited = copy;
        &edited
    } else {
        x
    };
    let (s, out, next) = if let Some(e) = &b.expand {
        let s = probe.layer(
            || format!("{name} expand"),
            e.kernel_id(),
            |o: &Nhwc| macs2(*o, shape.c),
            || pointwise_rows(pool, e, shape, input, t1, None, name),
        )?;
        probe.point(|| format!("{name}.expand"), &mut t1[..len(s)?], None);
        let s = dw_se(b, s, t1, t2, se, probe, pool)?;
        probe.point(|| format!("{name}.dw"), &mut t2[..len(s)?], None);
        let s = probe.layer(
            || format!("{name} project"),
            b.project.kernel_id(),
            |o: &Nhwc| macs2(*o, s.c),
            || pointwise_rows(pool, &b.project, s, t2, t1, residual, name),
        )?;
        (s, t1, (cur + 1) % 3)
    } else {
        let s = dw_se(b, shape, input, t1, se, probe, pool)?;
        probe.point(|| format!("{name}.dw"), &mut t1[..len(s)?], None);
        let s = probe.layer(
            || format!("{name} project"),
            b.project.kernel_id(),
            |o: &Nhwc| macs2(*o, s.c),
            || pointwise_rows(pool, &b.project, s, t1, t2, residual, name),
        )?;
        (s, t2, (cur + 2) % 3)
    };
    let n = len(s)?;
    let (out, residual) = (&mut out[..n], residual.map(|r| &r[..n]));
    probe.point(|| format!("{name}.project"), out, residual);
    probe.point(|| name.to_string(), out, None);
    Ok((s, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every GEMM and depthwise layer of a loaded network reads its weights from one shared
    /// block, one layer after another in network order.
    #[test]
    fn weights_live_in_one_block() {
        let w = Weights::random(Arch::MobileNetV3Small, 0.5, Some(10), 3).unwrap();
        let mut net = Network::new(Arch::MobileNetV3Small, 0.5, &w, KernelTable::best()).unwrap();
        let bufs = net.packed_buffers();
        assert!(bufs.len() > 40);
        for pair in bufs.windows(2) {
            assert!(pair[0].is_shared(), "{:?}", pair[0]);
            let end = pair[0].as_ptr().wrapping_add(pair[0].len());
            assert_eq!(end, pair[1].as_ptr(), "buffers not back to back");
        }
    }
}
