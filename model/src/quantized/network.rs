//! An INT8 MobileNet: convolutions on u8 activations and per-channel s8 weights (see
//! `ruvector_cnn_kernels::quant`), built from f32 weights plus calibrated activation ranges.
//!
//! Precision plan (MobileNetV2 and V3): the stem (3 input channels, 3.6% of the MACs) runs
//! in f32 and its output is quantized; every pointwise and depthwise convolution runs in INT8
//! with BatchNorm folded and ReLU / ReLU6 fused as output clamps, hard-swish fused in the f32
//! requantization (`ruvector_cnn_kernels::quant::HardSwish`); squeeze-excitation runs in INT8
//! (`QuantSe`); residual connections are INT8 adds (each input requantized to the block
//! output's scale); the last conv's output is pooled to f32 channel means exactly. The pooled
//! vector is the embedding. Two escapes for weights INT8 cannot represent (chosen by
//! [`super::quantize_network`]): single convolutions in f32 between quantized activations, and
//! an f32 head (the first blocks, before anything is quantized). On request, an f32 tail (the
//! last blocks, the last conv and the pool on the dequantized activation) trades speed for
//! accuracy where 8-bit activation noise has accumulated.

use ruvector_cnn_kernels::Activation;
use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Error as KernelError;
use ruvector_cnn_kernels::ops::{
    Conv2d, ConvAlgorithm, DepthwiseConv2d, Dequantize, Nhwc, Padding, Pointwise, QuantAdd,
    QuantChannelScale, QuantDepthwise, QuantDepthwiseDesc, QuantGlobalAvgPool, QuantParams,
    QuantPointwise, QuantPointwiseDesc, Quantize,
};
use ruvector_cnn_kernels::pack::QuantWeights;
use ruvector_cnn_kernels::parallel::ThreadPool;
use ruvector_cnn_kernels::quant::{HardSwish, QuantOut, check_multiplier};

use super::calibrate::Ranges;
use crate::arch::{Arch, BlockSpec, ConvBn, SeSpec, Spec};
use crate::error::{Error, OpContext, Result};
use crate::network::{F32Blocks, F32Tail, Workspace, dense, depthwise, fold, pointwise};
use crate::split;
use crate::weights::{Reader, Weights};

/// The output quantization that fuses `act` for an output quantized with `p`.
fn out_for(act: Activation, p: QuantParams, layer: &str) -> Result<QuantOut> {
    let zp = p.zero_point;
    let q = |real: f32| (f32::from(zp) + (real / p.scale).round()).clamp(0.0, 255.0) as u8;
    let clamp = |min: u8, max: u8| QuantOut {
        min,
        max,
        ..QuantOut::linear(zp)
    };
    Ok(match act {
        Activation::Linear => QuantOut::linear(zp),
        Activation::Relu => clamp(zp, 255),
        Activation::Relu6 => clamp(zp, q(6.0)),
        Activation::Hswish => QuantOut::hard_swish(zp, HardSwish::new(p.scale).layer(layer)?),
        other => {
            return Err(Error::Unsupported(format!(
                "{layer}: INT8 layers fuse linear, ReLU, ReLU6 and hard-swish, not {other}"
            )));
        }
    })
}

/// A conv + BN folded and quantized: per-output-channel symmetric s8 weights, i32 bias at
/// the accumulator scale, and the requantization to the output.
struct QuantConv {
    weights: Vec<i8>,
    bias: Vec<i32>,
    scale: Vec<f32>,
    out: QuantOut,
}

fn quantize_conv(
    r: &Reader<'_>,
    c: &ConvBn,
    eps: f32,
    input: QuantParams,
    output: QuantParams,
) -> Result<QuantConv> {
    let (w, b) = fold(r, c, eps)?;
    let out = out_for(c.act, output, &c.weight)?;
    quantize_rows(&w, &b, input, (out, output.scale), &c.weight)
}

/// Quantizes the f32 weight rows `w` (one per output channel, `b.len()` of them) and bias
/// `b` for `input`, requantized to the output `out` of scale `s_y`.
fn quantize_rows(
    w: &[f32],
    b: &[f32],
    input: QuantParams,
    (out, s_y): (QuantOut, f32),
    layer: &str,
) -> Result<QuantConv> {
    let per = w.len() / b.len();
    let mut weights = Vec::with_capacity(w.len());
    let mut bias = Vec::with_capacity(b.len());
    let mut scale = Vec::with_capacity(b.len());
    for (row, &b) in w.chunks_exact(per).zip(b) {
        let s_w = weight_scale(row);
        weights.extend(row.iter().map(|&v| weight_step(v, s_w) as i8));
        let acc_scale = f64::from(input.scale) * f64::from(s_w);
        let q = (f64::from(b) / acc_scale).round();
        if q.abs() > f64::from(1 << 30) {
            return Err(Error::Unsupported(format!(
                "{layer}: bias {b} does not fit the INT8 accumulator at scale {acc_scale:e}"
            )));
        }
        bias.push(q as i32);
        let m = (acc_scale / f64::from(s_y)) as f32;
        scale.push(check_multiplier(m).layer(layer)?);
    }
    Ok(QuantConv {
        weights,
        bias,
        scale,
        out,
    })
}

/// Checks that every name in `f32_layers` (`features.N+` for a tail) is an activation of the
/// model (`is_activation`), else an error naming the first that is not.
pub(crate) fn check_f32_layers(
    f32_layers: &[String],
    is_activation: impl Fn(&str) -> bool,
) -> Result<()> {
    match f32_layers
        .iter()
        .find(|l| !is_activation(l.strip_suffix('+').unwrap_or(l)))
    {
        Some(l) => Err(Error::InvalidArgument(format!(
            "f32 layer `{l}`: not a convolution or block of this model (expected names such as \
             features.2, features.3.expand, features.3.dw, features.3.project, last, or \
             features.15+ for an f32 tail)"
        ))),
        None => Ok(()),
    }
}

/// Weight `v` in steps of `s_w`: the s8 value, rounded half away from zero, as an f32.
pub(super) fn weight_step(v: f32, s_w: f32) -> f32 {
    (v / s_w).round().clamp(-127.0, 127.0)
}

/// Which of `blocks` run in f32 by `f32_layers`: the head `..head` (up to the last block
/// named) and the tail `tail..` (from the first block named with a `+`; `blocks.len()` when
/// none is).
pub(super) fn f32_span(blocks: &[BlockSpec], f32_layers: &[String]) -> (usize, usize) {
    let is_f32 = |name: &str| f32_layers.iter().any(|l| l == name);
    let head = (blocks.iter())
        .rposition(|b| is_f32(&b.name))
        .map_or(0, |i| i + 1);
    let tail = (blocks.iter())
        .position(|b| is_f32(&format!("{}+", b.name)))
        .unwrap_or(blocks.len());
    (head, tail)
}

/// The symmetric s8 scale of one output channel's weights `row`.
pub(super) fn weight_scale(row: &[f32]) -> f32 {
    let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max > 0.0 { max / 127.0 } else { 1.0 }
}

/// `input` with its scale raised (zero point kept) to where every bias of `b` fits the
/// accumulator (`2^29` steps) with weights `w`: an input calibrated to (nearly) all zeros
/// (a dead ReLU) otherwise has a scale too fine for any bias.
fn bias_fits(input: QuantParams, w: &[f32], b: &[f32]) -> QuantParams {
    let per = w.len() / b.len();
    let need = w
        .chunks_exact(per)
        .zip(b)
        .map(|(row, b)| f64::from(b.abs()) / (f64::from(weight_scale(row)) * f64::from(1 << 29)))
        .fold(f64::from(input.scale), f64::max);
    QuantParams {
        scale: need as f32,
        ..input
    }
}

impl QuantConv {
    /// The kernels' view of the quantized weights for `input`.
    fn weights(&self, input: QuantParams) -> QuantWeights<'_> {
        QuantWeights {
            outputs: self.bias.len(),
            taps: self.weights.len() / self.bias.len(),
            weights: &self.weights,
            bias: &self.bias,
            scale: &self.scale,
            input_zero_point: input.zero_point,
        }
    }

    /// A pointwise convolution of these weights for `input`.
    fn pointwise(
        &self,
        input: QuantParams,
        t: &KernelTable,
        layer: &str,
    ) -> Result<QuantPointwise> {
        let desc = QuantPointwiseDesc {
            weights: self.weights(input),
            out: self.out,
        };
        QuantPointwise::new(&desc, t).layer(layer)
    }
}

/// An f32 convolution between quantized activations: dequantize, convolve, quantize.
enum F32Op {
    Pointwise(Pointwise),
    Depthwise(DepthwiseConv2d),
}

/// A convolution of the quantized network: INT8, or (for layers INT8 cannot represent, see
/// [`super::quantize_network`]) f32 between dequantized input and quantized output.
enum QLayer {
    Pointwise(QuantPointwise),
    Depthwise(QuantDepthwise),
    F32 {
        deq: Dequantize,
        op: F32Op,
        quant: Quantize,
    },
}

impl QLayer {
    fn output_shape(&self, s: Nhwc) -> ruvector_cnn_kernels::ops::Result<Nhwc> {
        match self {
            QLayer::Pointwise(p) => p.output_shape(s),
            QLayer::Depthwise(d) => d.output_shape(s),
            QLayer::F32 {
                op: F32Op::Pointwise(p),
                ..
            } => p.output_shape(s),
            QLayer::F32 {
                op: F32Op::Depthwise(d),
                ..
            } => d.output_shape(s),
        }
    }

    fn kernel_id(&self) -> &'static str {
        match self {
            QLayer::Pointwise(p) => p.kernel_id(),
            QLayer::Depthwise(d) => d.kernel_id(),
            QLayer::F32 {
                op: F32Op::Pointwise(p),
                ..
            } => p.kernel_id(),
            QLayer::F32 {
                op: F32Op::Depthwise(d),
                ..
            } => d.kernel_id(),
        }
    }

    /// Runs layer `name` on one `s`-shaped image `x` into `y`, INT8 layers with their output
    /// rows split over `pool`; `f` holds the f32 scratch of fallback layers.
    fn run(
        &self,
        pool: Option<&ThreadPool>,
        name: &str,
        s: Nhwc,
        x: &[u8],
        y: &mut [u8],
        f: &mut [Vec<f32>; 2],
    ) -> Result<Nhwc> {
        let out = self.output_shape(s).layer(name)?;
        match self {
            QLayer::Pointwise(p) => {
                let (cin, cout) = (s.c, out.c);
                let x = x.get(..s.len().layer(name)?).unwrap_or_default();
                split::rows(pool, y, s.h * s.w, cout, 16, |chunk, r| {
                    let rows = x.get(r.start * cin..r.end * cin).unwrap_or_default();
                    p.run_rows(r.len(), rows, cin, chunk, cout).layer(name)
                })?;
                Ok(out)
            }
            QLayer::Depthwise(d) => {
                split::rows(pool, y, out.h, out.w * out.c, 1, |chunk, r| {
                    d.run_rows(s, x, chunk, r).layer(name)
                })?;
                Ok(out)
            }
            QLayer::F32 { .. } => self.run_f32(s, x, y, f).layer(name),
        }
    }

    /// The f32 fallback: dequantize, convolve, quantize.
    fn run_f32(
        &self,
        s: Nhwc,
        x: &[u8],
        y: &mut [u8],
        f: &mut [Vec<f32>; 2],
    ) -> ruvector_cnn_kernels::ops::Result<Nhwc> {
        match self {
            QLayer::Pointwise(_) | QLayer::Depthwise(_) => self.output_shape(s),
            QLayer::F32 { deq, op, quant } => {
                let out = self.output_shape(s)?;
                let (n_in, n_out) = (s.len()?, out.len()?);
                let [fx, fy] = f;
                grow(fx, n_in, 0.0);
                grow(fy, n_out, 0.0);
                let short = || KernelError::InvalidArgument("activation buffer too short".into());
                deq.run(x.get(..n_in).ok_or_else(short)?, &mut fx[..n_in])?;
                match op {
                    F32Op::Pointwise(p) => p.run(s, &fx[..n_in], &mut fy[..n_out], None)?,
                    F32Op::Depthwise(d) => d.run(s, &fx[..n_in], &mut fy[..n_out])?,
                };
                quant.run(&fy[..n_out], y.get_mut(..n_out).ok_or_else(short)?)?;
                Ok(out)
            }
        }
    }
}

/// Builds conv `c` between quantized `input` and `output`: INT8, or f32 when `f32`.
#[allow(clippy::too_many_arguments)]
fn qlayer(
    r: &Reader<'_>,
    c: &ConvBn,
    eps: f32,
    input: QuantParams,
    output: QuantParams,
    f32: bool,
    t: &KernelTable,
) -> Result<QLayer> {
    if f32 {
        let op = if c.depthwise {
            F32Op::Depthwise(depthwise(r, c, eps, t)?)
        } else {
            F32Op::Pointwise(pointwise(r, c, eps, false, t)?)
        };
        // The f32 op applies the activation; quantizing clamps to the output range.
        return Ok(QLayer::F32 {
            deq: Dequantize::new(input, t).layer(&c.weight)?,
            op,
            quant: Quantize::new(output, t).layer(&c.weight)?,
        });
    }
    let q = quantize_conv(r, c, eps, input, output)?;
    Ok(if c.depthwise {
        let desc = QuantDepthwiseDesc {
            weights: q.weights(input),
            kernel: c.kernel,
            stride: c.stride,
            padding: Padding::same((c.kernel - 1) / 2),
            out: q.out,
        };
        QLayer::Depthwise(QuantDepthwise::new(&desc, t).layer(&c.weight)?)
    } else {
        QLayer::Pointwise(q.pointwise(input, t, &c.weight)?)
    })
}

/// Where a forward pass reports its quantized activations: nowhere (a plain forward pass,
/// which then never builds their names) or to [`QuantNetwork::observe`]'s callback.
struct Observer<'a>(Option<&'a mut ByteSink<'a>>);

/// The callback of [`QuantNetwork::observe`]: `(activation name, bytes)`.
type ByteSink<'a> = dyn FnMut(&str, &[u8]) + 'a;

impl Observer<'_> {
    /// Reports activation `name()` holding `bytes`, if anyone listens.
    fn see(&mut self, name: impl FnOnce() -> String, bytes: &[u8]) {
        if let Some(f) = &mut self.0 {
            f(&name(), bytes);
        }
    }
}

/// Squeeze-excitation between quantized activations, all in INT8 (bit-exact at every
/// level): the depthwise output (`.se_in`) is mean-pooled and quantized (`.se_pool`), the two
/// FC layers are INT8 pointwise convolutions of one pixel (`.se_hidden` after ReLU, then the
/// hard-sigmoid gate as `q/255`: bias `+3`, scale `6/255`, clamped to `0..=255`), and the
/// bytes are scaled per channel straight into the block's depthwise activation (`.dw`).
struct QuantSe {
    pool: QuantGlobalAvgPool,
    pool_q: Quantize,
    fc1: QuantPointwise,
    fc2: QuantPointwise,
    scale: QuantChannelScale,
    squeeze: usize,
}

/// The hard-sigmoid gate's quantization: `q = clamp(round((x + 3)·255/6), 0, 255)`, `gate = q/255`.
const GATE: QuantParams = QuantParams {
    scale: 6.0 / 255.0,
    zero_point: 0,
};

impl QuantSe {
    /// Builds the squeeze-excitation `spec` of block `name` between `input` (`.se_in`) and
    /// `output` (`.dw`).
    fn new(
        r: &Reader<'_>,
        spec: &SeSpec,
        name: &str,
        ranges: &Ranges,
        (input, output): (QuantParams, QuantParams),
        t: &KernelTable,
    ) -> Result<Self> {
        let (c, q) = (spec.channels, spec.squeeze);
        let key = |k: &str| format!("{}.{k}", spec.prefix);
        let (pooled, hidden) = (format!("{name}.se_pool"), format!("{name}.se_hidden"));
        let (fc1, fc2) = (key("fc1"), key("fc2"));
        let w1 = r.take(&key("fc1.weight"), &[q, c, 1, 1])?;
        let b1 = r.take(&key("fc1.bias"), &[q])?;
        let w2 = r.take(&key("fc2.weight"), &[c, q, 1, 1])?;
        let b2: Vec<f32> = r
            .take(&key("fc2.bias"), &[c])?
            .iter()
            .map(|b| b + 3.0)
            .collect();
        let pp = bias_fits(ranges.params(&pooled)?, w1, b1);
        let ph = bias_fits(ranges.params(&hidden)?, w2, &b2);
        let relu = out_for(Activation::Relu, ph, &fc1)?;
        let fc1 = quantize_rows(w1, b1, pp, (relu, ph.scale), &fc1)?.pointwise(pp, t, &fc1)?;
        let lin = QuantOut::linear(GATE.zero_point);
        let fc2 = quantize_rows(w2, &b2, ph, (lin, GATE.scale), &fc2)?.pointwise(ph, t, &fc2)?;
        Ok(QuantSe {
            pool: QuantGlobalAvgPool::new(c, input, t).layer(&pooled)?,
            pool_q: Quantize::new(pp, t).layer(&pooled)?,
            fc1,
            fc2,
            scale: QuantChannelScale::new(c, input, output, t).layer(name)?,
            squeeze: q,
        })
    }

    /// Gates the `s`-shaped image `data` of block `name` in place; `f` and `bytes` are
    /// scratch.
    fn run(
        &self,
        name: &str,
        s: Nhwc,
        data: &mut [u8],
        f: &mut [Vec<f32>; 2],
        bytes: &mut Vec<u8>,
        observe: &mut Observer<'_>,
    ) -> Result<()> {
        let (c, q) = (s.c, self.squeeze);
        let [v, _] = f;
        grow(v, 3 * c, 0.0);
        grow(bytes, 2 * c + q, 0);
        let (pooled, rest) = v.split_at_mut(c);
        let (gate, mult) = rest.split_at_mut(c);
        let (pooled_q, rest) = bytes.split_at_mut(c);
        let (hidden_q, gate_q) = rest.split_at_mut(q);
        let n = s.len().layer(name)?;
        let data = data
            .get_mut(..n)
            .ok_or_else(|| Error::InvalidArgument("activation buffer too short".into()))?;
        self.pool.run(s, data, pooled).layer(name)?;
        self.pool_q.run(pooled, pooled_q).layer(name)?;
        observe.see(|| format!("{name}.se_pool"), pooled_q);
        let one = |ch| Nhwc::new(1, 1, 1, ch);
        self.fc1.run(one(c), pooled_q, hidden_q).layer(name)?;
        observe.see(|| format!("{name}.se_hidden"), hidden_q);
        self.fc2
            .run(one(q), hidden_q, &mut gate_q[..c])
            .layer(name)?;
        for (g, &b) in gate.iter_mut().zip(gate_q.iter()) {
            *g = f32::from(b) / 255.0;
        }
        self.scale.run(s, data, gate, &mut mult[..c]).layer(name)
    }

    fn kernel_ids(&self) -> String {
        let (p, q) = (self.pool.kernel_id(), self.pool_q.kernel_id());
        let (f1, f2) = (self.fc1.kernel_id(), self.fc2.kernel_id());
        format!("{p} {q} {f1} {f2} {}", self.scale.kernel_id())
    }
}

struct QBlock {
    name: String,
    expand: Option<QLayer>,
    dw: QLayer,
    se: Option<QuantSe>,
    project: QLayer,
    /// Adds the block input to the projection (residual blocks).
    add: Option<QuantAdd>,
}

/// How the network ends after its quantized blocks.
enum End {
    /// The last conv in INT8 (or as an f32 fallback layer) and an exact mean pool of its bytes.
    Int8 {
        last: QLayer,
        pool: QuantGlobalAvgPool,
    },
    /// An f32 tail: the last quantized activation dequantized, then the remaining blocks, the
    /// last conv and the pool in f32.
    F32 { deq: Dequantize, tail: F32Tail },
}

/// Scratch memory of a quantized forward pass (grown, never shrunk).
#[derive(Default)]
pub struct QuantWorkspace {
    /// The f32 stem and head, then the f32 tail.
    head: Workspace,
    act: [Vec<u8>; 3],
    f32: [Vec<f32>; 2],
    se: Vec<u8>,
}

/// An INT8 network (MobileNetV2), producing the pooled embedding.
pub struct QuantNetwork {
    arch: Arch,
    width_mult: f32,
    stem: Conv2d,
    /// Leading blocks run in f32 (empty unless `f32_layers` names a block).
    head: F32Blocks,
    /// The first quantized activation: `features.0` or the head's last block.
    head_out: String,
    /// Quantizes `head_out`.
    stem_q: Quantize,
    blocks: Vec<QBlock>,
    end: End,
    features: usize,
    ranges: Ranges,
    f32_layers: Vec<String>,
    /// Splits each image's INT8 convolutions over cores (see [`QuantNetwork::set_threads`]).
    threads: Option<ThreadPool>,
}

impl QuantNetwork {
    /// Builds `arch` at `width_mult` from f32 torchvision-named `weights` and activation
    /// `ranges` (from [`super::calibrate()`]), with kernels from `table`; the convolutions named
    /// in `f32_layers` (activation names: `features.2.expand`, `last`, …) run in f32 between
    /// quantized activations, a block named there (`features.2`) makes every block up to it
    /// run in f32 before the first quantization, and a block or `last` named with a `+`
    /// (`features.16+`) runs in f32 with everything after it (the f32 tail). Names the model
    /// does not have are an error. The weights should already have loaded into an f32
    /// [`crate::Network`] (which checks every key).
    pub fn new(
        arch: Arch,
        width_mult: f32,
        weights: &Weights,
        ranges: &Ranges,
        f32_layers: &[String],
        table: &KernelTable,
    ) -> Result<Self> {
        check_f32_layers(f32_layers, |name| ranges.get(name).is_ok())?;
        let is_f32 = |name: &str| f32_layers.iter().any(|l| l == name);
        let spec = Spec::new(arch, width_mult)?;
        let eps = arch.bn_eps();
        let r = Reader::new(weights);
        let p = |name: &str| ranges.params(name);
        let stem = dense(&r, &spec.stem, eps, false, ConvAlgorithm::Auto, table)?;
        let (n_head, n_tail) = f32_span(&spec.blocks, f32_layers);
        let head = F32Blocks::new(&r, &spec.blocks[..n_head], eps, table)?;
        let head_out = spec.blocks[..n_head]
            .last()
            .map_or("features.0".to_string(), |b| b.name.clone());
        let mut x = p(&head_out)?;
        let stem_q = Quantize::new(x, table).layer(&head_out)?;
        if n_tail < n_head {
            return Err(Error::InvalidArgument(format!(
                "the f32 tail from {} starts inside the f32 head up to {head_out}",
                spec.blocks[n_tail].name
            )));
        }
        let mut blocks = Vec::new();
        for bs in &spec.blocks[n_head..n_tail] {
            let name = bs.name.as_str();
            let (expand, dw_in) = match &bs.expand {
                Some(e) => {
                    let n = format!("{name}.expand");
                    let pe = p(&n)?;
                    (Some(qlayer(&r, e, eps, x, pe, is_f32(&n), table)?), pe)
                }
                None => (None, x),
            };
            // With squeeze-excitation the depthwise conv outputs `.se_in` and the gate `.dw`.
            let n = format!("{name}.dw");
            let pd = p(&n)?;
            let (dw_out, se) = match &bs.se {
                Some(spec) => {
                    let n_in = format!("{name}.se_in");
                    let ps = p(&n_in)?;
                    let se = QuantSe::new(&r, spec, name, ranges, (ps, pd), table)?;
                    ((n_in, ps), Some(se))
                }
                None => ((n.clone(), pd), None),
            };
            let dw = qlayer(&r, &bs.dw, eps, dw_in, dw_out.1, is_f32(&dw_out.0), table)?;
            let n = format!("{name}.project");
            let pp = p(&n)?;
            let project = qlayer(&r, &bs.project, eps, pd, pp, is_f32(&n), table)?;
            let (add, out) = if bs.residual {
                let po = p(name)?;
                let add = QuantAdd::new(x, pp, po.scale, QuantOut::linear(po.zero_point), table)
                    .layer(name)?;
                (Some(add), po)
            } else {
                (None, pp)
            };
            blocks.push(QBlock {
                name: bs.name.clone(),
                expand,
                dw,
                se,
                project,
                add,
            });
            x = out;
        }
        let end = if n_tail < spec.blocks.len() || is_f32("last+") {
            let tail = F32Tail::new(&r, &spec.blocks[n_tail..], &spec.last, eps, table)?;
            let deq = Dequantize::new(x, table).layer("f32 tail")?;
            End::F32 { deq, tail }
        } else {
            let pl = p("last")?;
            End::Int8 {
                last: qlayer(&r, &spec.last, eps, x, pl, is_f32("last"), table)?,
                pool: QuantGlobalAvgPool::new(spec.last.cout, pl, table).layer("avgpool")?,
            }
        };
        Ok(QuantNetwork {
            arch,
            width_mult,
            stem,
            head,
            head_out,
            stem_q,
            blocks,
            end,
            features: spec.last.cout,
            ranges: ranges.clone(),
            f32_layers: f32_layers.to_vec(),
            threads: None,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The width multiplier.
    pub fn width_mult(&self) -> f32 {
        self.width_mult
    }

    /// Values per embedding (the pooled features).
    pub fn dim(&self) -> usize {
        self.features
    }

    /// The activation ranges the network was quantized with.
    pub fn ranges(&self) -> &Ranges {
        &self.ranges
    }

    /// Splits the INT8 convolutions of every image over `threads` cores from now on (a
    /// persistent pool; 1 or 0 = this thread only, the default). The results do not depend
    /// on the thread count.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.threads = split::pool(threads)?;
        Ok(())
    }

    /// The convolutions that run in f32 between quantized activations.
    pub fn f32_layers(&self) -> &[String] {
        &self.f32_layers
    }

    /// `(layer, kernel ids)` of every layer, in order.
    pub fn kernels(&self) -> Vec<(String, String)> {
        let mut out = vec![("features.0".to_string(), self.stem.kernel_id().to_string())];
        out.extend(self.head.kernels());
        out.push((
            format!("{} quantize", self.head_out),
            self.stem_q.kernel_id().to_string(),
        ));
        for b in &self.blocks {
            let mut ids: Vec<&str> = b.expand.iter().map(|e| e.kernel_id()).collect();
            ids.push(b.dw.kernel_id());
            let se = b.se.as_ref().map(QuantSe::kernel_ids);
            ids.extend(se.as_deref());
            ids.push(b.project.kernel_id());
            ids.extend(b.add.as_ref().map(|a| a.kernel_id()));
            out.push((b.name.clone(), ids.join(" ")));
        }
        match &self.end {
            End::Int8 { last, pool } => {
                out.push(("last conv".into(), last.kernel_id().to_string()));
                out.push(("avgpool".into(), pool.kernel_id().to_string()));
            }
            End::F32 { deq, tail } => {
                out.push(("f32 tail dequantize".into(), deq.kernel_id().to_string()));
                out.extend(tail.kernels());
            }
        }
        out
    }

    /// Runs a batch of preprocessed NHWC f32 images (`input_shape.c == 3`), writing
    /// [`QuantNetwork::dim`] pooled values per image to the front of `out`.
    pub fn forward(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        out: &mut [f32],
        ws: &mut QuantWorkspace,
    ) -> Result<usize> {
        let (n, dim) = (input_shape.n, self.features);
        let one = Nhwc {
            n: 1,
            ..input_shape
        };
        let image = one.len().layer("input")?;
        let total = n
            .checked_mul(dim)
            .ok_or_else(|| Error::InvalidArgument("batch too large".into()))?;
        if n == 0 || input.len() / image < n || out.len() < total {
            return Err(Error::InvalidArgument(format!(
                "buffers hold {} input and {} output floats; {n} images need {} and {total}",
                input.len(),
                out.len(),
                n.saturating_mul(image)
            )));
        }
        for (x, y) in input
            .chunks_exact(image)
            .zip(out.chunks_exact_mut(dim))
            .take(n)
        {
            self.forward_image(one, x, y, ws, &mut Observer(None))?;
        }
        Ok(total)
    }

    /// Runs the first image of `input` (`dim()` pooled values into `out`) and calls
    /// `observe(name, bytes)` with every quantized activation, under the names of
    /// [`crate::Network::observe`] (dequantize with [`QuantNetwork::ranges`]): for comparing
    /// each layer with the f32 network.
    pub fn observe(
        &self,
        input_shape: Nhwc,
        input: &[f32],
        out: &mut [f32],
        ws: &mut QuantWorkspace,
        observe: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<()> {
        let one = Nhwc {
            n: 1,
            ..input_shape
        };
        if input.len() < one.len().layer("input")? || out.len() < self.features {
            return Err(Error::InvalidArgument("observe: buffers too small".into()));
        }
        let mut observer = Observer(Some(observe));
        self.forward_image(one, input, &mut out[..self.features], ws, &mut observer)
    }

    fn forward_image(
        &self,
        shape: Nhwc,
        input: &[f32],
        out: &mut [f32],
        ws: &mut QuantWorkspace,
        observe: &mut Observer<'_>,
    ) -> Result<()> {
        let QuantWorkspace {
            head,
            act,
            f32: fbuf,
            se: se_buf,
        } = ws;
        let pool = self.threads.as_ref();
        let s = self.stem.output_shape(shape).layer("features.0")?;
        let len = s.len().layer("features.0")?;
        self.head.prepare(s, head)?;
        if input.len() < shape.len().layer("input")? {
            return Err(Error::InvalidArgument(
                "input holds less than one image".into(),
            ));
        }
        let stem_out = &mut self.head.input(head)[..len];
        split::rows(pool, stem_out, s.h, s.w * s.c, 1, |y, r| {
            self.stem
                .run_rows(shape, input, y, r, None, &mut [])
                .layer("features.0")
        })?;
        let (mut s, f) = self.head.run(s, head, pool)?;
        let most = self.max_activation(s)?;
        for a in act.iter_mut() {
            grow(a, most, 0);
        }
        let name = self.head_out.as_str();
        self.stem_q.run(f, &mut act[0][..f.len()]).layer(name)?;
        observe.see(|| name.to_string(), &act[0][..f.len()]);
        let mut cur = 0;
        for b in &self.blocks {
            let name = b.name.as_str();
            let [x, t1, t2] = rotate(act, cur);
            let n_in = s.len().layer(name)?;
            let (src, dst, next) = match &b.expand {
                Some(e) => {
                    s = e.run(pool, name, s, &x[..n_in], t1, fbuf)?;
                    observe.see(|| format!("{name}.expand"), &t1[..s.len().layer(name)?]);
                    s =
                        b.dw.run(pool, name, s, &t1[..s.len().layer(name)?], t2, fbuf)?;
                    (t2, t1, (cur + 1) % 3)
                }
                None => {
                    s = b.dw.run(pool, name, s, &x[..n_in], t1, fbuf)?;
                    (t1, t2, (cur + 2) % 3)
                }
            };
            let n_dw = s.len().layer(name)?;
            if let Some(se) = &b.se {
                observe.see(|| format!("{name}.se_in"), &src[..n_dw]);
                se.run(name, s, src, fbuf, se_buf, observe)?;
            }
            observe.see(|| format!("{name}.dw"), &src[..n_dw]);
            s = b.project.run(pool, name, s, &src[..n_dw], dst, fbuf)?;
            let n = s.len().layer(name)?;
            observe.see(|| format!("{name}.project"), &dst[..n]);
            if let Some(add) = &b.add {
                add.run_into(&x[..n], &mut dst[..n]).layer(name)?;
            }
            observe.see(|| name.to_string(), &dst[..n]);
            cur = next;
        }
        let [x, t, _] = rotate(act, cur);
        let n_in = s.len().layer("last conv")?;
        match &self.end {
            End::Int8 { last, pool: gap } => {
                let s = last.run(pool, "last conv", s, &x[..n_in], t, fbuf)?;
                observe.see(|| "last".into(), &t[..s.len().layer("last conv")?]);
                gap.run(s, &t[..s.len().layer("avgpool")?], out)
                    .layer("avgpool")
            }
            End::F32 { deq, tail } => {
                tail.prepare(s, head)?;
                let f = &mut tail.input(head)[..n_in];
                deq.run(&x[..n_in], f).layer("f32 tail")?;
                tail.run(s, head, pool, out)
            }
        }
    }

    fn max_activation(&self, head_out: Nhwc) -> Result<usize> {
        let mut most = head_out.len().layer("features.0")?;
        let mut s = head_out;
        for b in &self.blocks {
            if let Some(e) = &b.expand {
                s = e.output_shape(s).layer(&b.name)?;
                most = most.max(s.len().layer(&b.name)?);
            }
            s = b.dw.output_shape(s).layer(&b.name)?;
            most = most.max(s.len().layer(&b.name)?);
            s = b.project.output_shape(s).layer(&b.name)?;
            most = most.max(s.len().layer(&b.name)?);
        }
        if let End::Int8 { last, .. } = &self.end {
            s = last.output_shape(s).layer("last conv")?;
            most = most.max(s.len().layer("last conv")?);
        }
        Ok(most)
    }
}

/// The three activation buffers, rotated so that `cur` comes first.
fn rotate(bufs: &mut [Vec<u8>; 3], cur: usize) -> [&mut Vec<u8>; 3] {
    let [a, b, c] = bufs;
    match cur {
        0 => [a, b, c],
        1 => [b, c, a],
        _ => [c, a, b],
    }
}

fn grow<T: Clone>(v: &mut Vec<T>, len: usize, fill: T) {
    if v.len() < len {
        v.resize(len, fill);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_input_gets_a_scale_where_the_bias_fits() {
        // An input calibrated to all zeros has the floor scale; a bias of 3 with weights of
        // 0.5 would need 3 / (1e-8/255 · 0.5/127) ≈ 3e13 accumulator steps.
        let dead = QuantParams {
            scale: 1e-8 / 255.0,
            zero_point: 0,
        };
        let (w, b) = ([0.5f32, -0.25, 0.1, 0.5], [3.0f32, -1.0]);
        let fixed = bias_fits(dead, &w, &b);
        assert_eq!(fixed.zero_point, 0);
        let out = QuantOut::linear(0);
        assert!(quantize_rows(&w, &b, dead, (out, 0.1), "x").is_err());
        let q = quantize_rows(&w, &b, fixed, (out, 0.1), "x").unwrap();
        assert!(
            q.bias.iter().all(|b| b.unsigned_abs() <= 1 << 30),
            "{:?}",
            q.bias
        );
        // A healthy input keeps its scale.
        let fine = QuantParams {
            scale: 0.02,
            zero_point: 9,
        };
        assert_eq!(bias_fits(fine, &w, &b), fine);
    }
}
