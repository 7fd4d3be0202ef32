//! Fine-tuning the top of a MobileNet together with a projection head: the last `k`
//! inverted-residual blocks (expand, depthwise, squeeze-excitation, projection, residual) and
//! the last convolution with the pool ([`Tail`]; BatchNorm in eval mode folded into each
//! conv) become trainable; everything below (the "trunk") stays frozen and runs on the
//! inference kernels.
//!
//! A step: the trunk's output for each image of a label-sampled batch (computed by the
//! caller, see [`crate::Network::tail_input`]) → [`Tail`] → L2 normalisation (as the embedder
//! does) → head → loss; the gradient flows back through the head, the normalisation and every
//! layer of the tail (the backward passes of [`super::backprop`], checked against finite
//! differences), and one optimiser step updates all. [`Tail::export`] writes the tuned layers
//! back into torchvision-named weights (each BatchNorm set to the identity plus the folded
//! bias), so the result loads as an ordinary backbone.

use super::backprop::{
    DwGeometry, SeGrads, SeParams, act_backward, act_forward, depthwise_backward,
    depthwise_forward, gap_backward, gap_forward, pointwise_backward, pointwise_forward,
    se_backward, se_forward,
};
use super::head::ProjectionHead;
use super::loss::{normalize, normalize_backward};
use super::train::{
    Batches, EpochStats, LabelSampler, TrainConfig, TrainEvent, check_config, run_epochs,
};
use crate::arch::{Arch, ConvBn, SeSpec, Spec};
use crate::error::{Error, Result};
use crate::network::fold;
use crate::weights::{Reader, Weights};

/// The trainable last convolution of a MobileNet, with its forward caches.
pub struct LastConv {
    conv: Conv,
    /// BatchNorm epsilon of the architecture (for [`Self::export`]).
    eps: f32,
    /// Last forward: input, pre-activation, post-activation, images, pixels per image.
    x: Vec<f32>,
    pre: Vec<f32>,
    post: Vec<f32>,
    n: usize,
    pixels: usize,
}

impl LastConv {
    /// The last convolution of `arch` at `width_mult`, BatchNorm folded, from `weights`.
    pub fn from_weights(arch: Arch, width_mult: f32, weights: &Weights) -> Result<Self> {
        let spec = Spec::new(arch, width_mult)?;
        let eps = arch.bn_eps();
        Ok(Self::new(
            Conv::new(&Reader::new(weights), &spec.last, eps)?,
            eps,
        ))
    }

    fn new(conv: Conv, eps: f32) -> Self {
        LastConv {
            conv,
            eps,
            x: Vec::new(),
            pre: Vec::new(),
            post: Vec::new(),
            n: 0,
            pixels: 0,
        }
    }

    /// Input channels.
    pub fn cin(&self) -> usize {
        self.conv.spec.cin
    }

    /// Output channels (the pooled embedding's width).
    pub fn cout(&self) -> usize {
        self.conv.spec.cout
    }

    /// Pooled features (`n × cout`) of `x`: `n` images of `pixels × cin`.
    pub fn forward(
        &mut self,
        x: &[f32],
        n: usize,
        pixels: usize,
        pooled: &mut [f32],
    ) -> Result<()> {
        let (m, cin, cout) = (n * pixels, self.cin(), self.cout());
        if n == 0 || pixels == 0 || x.len() != m * cin || pooled.len() != n * cout {
            return Err(Error::InvalidArgument(format!(
                "last conv: {} input values for {n} × {pixels} × {cin}",
                x.len()
            )));
        }
        self.x.clear();
        self.x.extend_from_slice(x);
        self.pre.resize(m * cout, 0.0);
        self.post.resize(m * cout, 0.0);
        let c = &self.conv;
        pointwise_forward(x, m, cin, &c.w, &c.b, &mut self.pre)?;
        act_forward(c.spec.act, &self.pre, &mut self.post);
        gap_forward(&self.post, n, pixels, cout, pooled)?;
        (self.n, self.pixels) = (n, pixels);
        Ok(())
    }

    /// Parameter gradients from `dpooled` (∂L/∂pooled of the last forward).
    pub fn backward(&mut self, dpooled: &[f32]) -> Result<()> {
        self.backward_with(dpooled, None)
    }

    /// [`Self::backward`], also returning ∂L/∂input.
    pub fn backward_input(&mut self, dpooled: &[f32]) -> Result<Vec<f32>> {
        let mut dx = vec![0f32; self.x.len()];
        self.backward_with(dpooled, Some(&mut dx))?;
        Ok(dx)
    }

    fn backward_with(&mut self, dpooled: &[f32], dx: Option<&mut [f32]>) -> Result<()> {
        let (m, cin, cout) = (self.n * self.pixels, self.cin(), self.cout());
        let mut dpost = vec![0f32; m * cout];
        gap_backward(dpooled, self.n, self.pixels, cout, &mut dpost)?;
        let mut dpre = vec![0f32; m * cout];
        let c = &mut self.conv;
        act_backward(c.spec.act, &self.pre, &dpost, &mut dpre);
        pointwise_backward(&self.x, m, cin, &c.w, &dpre, dx, &mut c.dw, &mut c.db)
    }

    /// The weights and bias with their gradients.
    pub fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        self.conv.params().into()
    }

    /// `weights` with the tuned convolution in place of the original: its weight tensor is the
    /// folded weight, its BatchNorm `γ = 1`, `β` = the folded bias, running mean 0 and
    /// variance `1 − ε`, so BatchNorm is exactly `x + β`.
    pub fn export(&self, weights: &Weights) -> Result<Weights> {
        replace(weights, self.conv.tensors(self.eps))
    }
}

/// A trainable folded conv + BN: `[cout][cin·k·k]` weights (depthwise: `[c][k·k]`), bias,
/// their gradients, and where it lives in the weights.
struct Conv {
    spec: ConvBn,
    w: Vec<f32>,
    b: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

/// Named tensors to write into a state dict: `(key, shape, values)`.
type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// `weights` with `tensors` in place of the tensors of the same keys.
fn replace(weights: &Weights, tensors: Tensors) -> Result<Weights> {
    let mut out = weights
        .clone()
        .rename(|k| (!tensors.iter().any(|(r, _, _)| r == k)).then(|| k.to_string()))?;
    for (key, shape, data) in tensors {
        out.insert(&key, shape, data)?;
    }
    Ok(out)
}

impl Conv {
    fn new(r: &Reader<'_>, spec: &ConvBn, eps: f32) -> Result<Self> {
        let (w, b) = fold(r, spec, eps)?;
        Ok(Conv {
            dw: vec![0.0; w.len()],
            db: vec![0.0; b.len()],
            w,
            b,
            spec: spec.clone(),
        })
    }

    fn params(&mut self) -> [(&mut [f32], &[f32]); 2] {
        [
            (&mut self.w[..], &self.dw[..]),
            (&mut self.b[..], &self.db[..]),
        ]
    }

    /// The folded conv as torchvision tensors: weights as the conv's, BN = identity + bias.
    fn tensors(&self, eps: f32) -> Tensors {
        let mut keys = Vec::new();
        self.spec.tensors(&mut keys);
        let (w, b, n) = (self.w.clone(), self.b.clone(), self.spec.cout);
        let data = [w, vec![1.0; n], b, vec![0.0; n], vec![1.0 - eps; n]];
        keys.into_iter()
            .zip(data)
            .map(|((k, s), d)| (k, s, d))
            .collect()
    }
}

/// A trainable squeeze-excitation (its parameters are not folded).
struct Se {
    spec: SeSpec,
    /// `w1, b1, w2, b2` and their gradients.
    p: [Vec<f32>; 4],
    g: [Vec<f32>; 4],
}

/// Forward values of one block kept for its backward pass.
#[derive(Default)]
struct BlockCache {
    x: Vec<f32>,
    e_pre: Vec<f32>,
    e: Vec<f32>,
    d_pre: Vec<f32>,
    d: Vec<f32>,
    s: Vec<f32>,
    p_pre: Vec<f32>,
    /// Input and output spatial size.
    hw: (usize, usize),
    out_hw: (usize, usize),
}

/// The depthwise geometry of a block's `spec` on `n` images of `(h, w)`.
fn dw_geometry(spec: &ConvBn, n: usize, (h, w): (usize, usize)) -> DwGeometry {
    DwGeometry {
        n,
        h,
        w,
        c: spec.cout,
        k: spec.kernel,
        s: spec.stride,
        pad: (spec.kernel - 1) / 2,
    }
}

/// A trainable inverted-residual block.
struct TailBlock {
    expand: Option<Conv>,
    dw: Conv,
    se: Option<Se>,
    project: Conv,
    residual: bool,
    cache: BlockCache,
}

impl TailBlock {
    /// `n` images of `hw` pixels → the block's output (and its spatial size).
    fn forward(
        &mut self,
        x: &[f32],
        n: usize,
        hw: (usize, usize),
    ) -> Result<(Vec<f32>, (usize, usize))> {
        let px = n * hw.0 * hw.1;
        let c = &mut self.cache;
        c.x = x.to_vec();
        c.hw = hw;
        if let Some(e) = &self.expand {
            c.e_pre = vec![0.0; px * e.spec.cout];
            pointwise_forward(x, px, e.spec.cin, &e.w, &e.b, &mut c.e_pre)?;
            c.e = vec![0.0; c.e_pre.len()];
            act_forward(e.spec.act, &c.e_pre, &mut c.e);
        } else {
            c.e = x.to_vec();
        }
        let g = dw_geometry(&self.dw.spec, n, hw);
        let (oh, ow) = g.output()?;
        let opx = n * oh * ow;
        c.out_hw = (oh, ow);
        c.d_pre = vec![0.0; opx * g.c];
        depthwise_forward(&g, &c.e, &self.dw.w, &self.dw.b, &mut c.d_pre)?;
        c.d = vec![0.0; c.d_pre.len()];
        act_forward(self.dw.spec.act, &c.d_pre, &mut c.d);
        c.s = match &self.se {
            Some(se) => {
                let p = SeParams {
                    w1: &se.p[0],
                    b1: &se.p[1],
                    w2: &se.p[2],
                    b2: &se.p[3],
                };
                let mut y = vec![0.0; c.d.len()];
                se_forward(&p, &c.d, n, oh * ow, g.c, &mut y)?;
                y
            }
            None => c.d.clone(),
        };
        let pj = &self.project;
        let mut out = vec![0.0; opx * pj.spec.cout];
        pointwise_forward(&c.s, opx, pj.spec.cin, &pj.w, &pj.b, &mut out)?;
        let mut post = vec![0.0; out.len()];
        act_forward(pj.spec.act, &out, &mut post);
        c.p_pre = out;
        if self.residual {
            post.iter_mut().zip(x).for_each(|(o, r)| *o += r);
        }
        Ok((post, (oh, ow)))
    }

    /// Parameter gradients from `dout`; returns ∂L/∂input.
    fn backward(&mut self, dout: &[f32], n: usize) -> Result<Vec<f32>> {
        let c = &self.cache;
        let (oh, ow) = c.out_hw;
        let opx = n * oh * ow;
        let pj = &mut self.project;
        let mut dpre = vec![0.0; c.p_pre.len()];
        act_backward(pj.spec.act, &c.p_pre, dout, &mut dpre);
        let mut ds = vec![0.0; c.s.len()];
        pointwise_backward(
            &c.s,
            opx,
            pj.spec.cin,
            &pj.w,
            &dpre,
            Some(&mut ds),
            &mut pj.dw,
            &mut pj.db,
        )?;
        let dd = match &mut self.se {
            Some(se) => {
                let [w1, b1, w2, b2] = &se.p;
                let p = SeParams { w1, b1, w2, b2 };
                let [g1, gb1, g2, gb2] = &mut se.g;
                let grads = SeGrads {
                    w1: g1,
                    b1: gb1,
                    w2: g2,
                    b2: gb2,
                };
                let mut dd = vec![0.0; c.d.len()];
                se_backward(&p, &c.d, n, oh * ow, self.dw.spec.cout, &ds, &mut dd, grads)?;
                dd
            }
            None => ds,
        };
        let mut dd_pre = vec![0.0; dd.len()];
        act_backward(self.dw.spec.act, &c.d_pre, &dd, &mut dd_pre);
        let g = dw_geometry(&self.dw.spec, n, c.hw);
        let mut de = vec![0.0; c.e.len()];
        let dwc = &mut self.dw;
        depthwise_backward(
            &g,
            &c.e,
            &dwc.w,
            &dd_pre,
            Some(&mut de),
            &mut dwc.dw,
            &mut dwc.db,
        )?;
        let mut dx = match &mut self.expand {
            Some(e) => {
                let px = n * c.hw.0 * c.hw.1;
                let mut de_pre = vec![0.0; de.len()];
                act_backward(e.spec.act, &c.e_pre, &de, &mut de_pre);
                let mut dx = vec![0.0; c.x.len()];
                pointwise_backward(
                    &c.x,
                    px,
                    e.spec.cin,
                    &e.w,
                    &de_pre,
                    Some(&mut dx),
                    &mut e.dw,
                    &mut e.db,
                )?;
                dx
            }
            None => de,
        };
        if self.residual {
            dx.iter_mut().zip(dout).for_each(|(d, g)| *d += g);
        }
        Ok(dx)
    }

    fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        let mut out = Vec::new();
        if let Some(e) = &mut self.expand {
            out.extend(e.params());
        }
        out.extend(self.dw.params());
        if let Some(se) = &mut self.se {
            let [p0, p1, p2, p3] = &mut se.p;
            let [g0, g1, g2, g3] = &se.g;
            out.extend([
                (&mut p0[..], &g0[..]),
                (&mut p1[..], &g1[..]),
                (&mut p2[..], &g2[..]),
                (&mut p3[..], &g3[..]),
            ]);
        }
        out.extend(self.project.params());
        out
    }
}

/// The trainable top of a MobileNet: its last `blocks` inverted-residual blocks and the last
/// convolution (with the pool).
pub struct Tail {
    blocks: Vec<TailBlock>,
    /// The last conv.
    pub last: LastConv,
    /// Images in the last forward.
    n: usize,
}

impl Tail {
    /// The last `blocks` blocks and the last conv of `arch` at `width_mult` from `weights`.
    pub fn from_weights(
        arch: Arch,
        width_mult: f32,
        weights: &Weights,
        blocks: usize,
    ) -> Result<Self> {
        let spec = Spec::new(arch, width_mult)?;
        if blocks > spec.blocks.len() {
            return Err(Error::InvalidArgument(format!(
                "{arch} has {} blocks, cannot train the last {blocks}",
                spec.blocks.len()
            )));
        }
        let r = Reader::new(weights);
        let eps = arch.bn_eps();
        let tail = spec.blocks[spec.blocks.len() - blocks..]
            .iter()
            .map(|b| {
                let se = match &b.se {
                    Some(sp) => {
                        let p = sp
                            .tensors()
                            .map(|(k, shape)| r.take(&k, &shape).map(<[f32]>::to_vec));
                        let [a, bb, c, d] = p;
                        let p = [a?, bb?, c?, d?];
                        let g = p.clone().map(|v| vec![0.0; v.len()]);
                        Some(Se {
                            spec: sp.clone(),
                            p,
                            g,
                        })
                    }
                    None => None,
                };
                Ok(TailBlock {
                    expand: b
                        .expand
                        .as_ref()
                        .map(|e| Conv::new(&r, e, eps))
                        .transpose()?,
                    dw: Conv::new(&r, &b.dw, eps)?,
                    se,
                    project: Conv::new(&r, &b.project, eps)?,
                    residual: b.residual,
                    cache: BlockCache::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tail {
            blocks: tail,
            last: LastConv::new(Conv::new(&r, &spec.last, eps)?, eps),
            n: 0,
        })
    }

    /// Trainable blocks (besides the last conv).
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Input channels of the tail.
    pub fn cin(&self) -> usize {
        self.blocks.first().map_or(self.last.cin(), |b| {
            b.expand.as_ref().map_or(b.dw.spec.cin, |e| e.spec.cin)
        })
    }

    /// Pooled features (`n × last.cout()`) of `x`: `n` images of `hw` pixels × [`Self::cin`].
    pub fn forward(
        &mut self,
        x: &[f32],
        n: usize,
        hw: (usize, usize),
        pooled: &mut [f32],
    ) -> Result<()> {
        if x.len() != n * hw.0 * hw.1 * self.cin() {
            return Err(Error::InvalidArgument(format!(
                "tail input holds {} values, expected {n} × {hw:?} × {}",
                x.len(),
                self.cin()
            )));
        }
        let mut out: Option<(Vec<f32>, (usize, usize))> = None;
        for b in &mut self.blocks {
            let (input, size) = out.as_ref().map_or((x, hw), |(v, s)| (v.as_slice(), *s));
            out = Some(b.forward(input, n, size)?);
        }
        self.n = n;
        let (input, size) = out.as_ref().map_or((x, hw), |(v, s)| (v.as_slice(), *s));
        self.last.forward(input, n, size.0 * size.1, pooled)
    }

    /// Parameter gradients from `dpooled`.
    pub fn backward(&mut self, dpooled: &[f32]) -> Result<()> {
        let mut d = self.last.backward_input(dpooled)?;
        for b in self.blocks.iter_mut().rev() {
            d = b.backward(&d, self.n)?;
        }
        Ok(())
    }

    /// Every trainable tensor with its gradient.
    pub fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        let mut out: Vec<_> = self
            .blocks
            .iter_mut()
            .flat_map(TailBlock::params_mut)
            .collect();
        out.extend(self.last.params_mut());
        out
    }

    /// `weights` with every trained layer in place of the original (see [`LastConv::export`]).
    pub fn export(&self, weights: &Weights) -> Result<Weights> {
        let eps = self.last.eps;
        let mut tensors = Tensors::new();
        for b in &self.blocks {
            for c in b.expand.iter().chain([&b.dw, &b.project]) {
                tensors.extend(c.tensors(eps));
            }
            if let Some(se) = &b.se {
                let keys = se.spec.tensors().into_iter();
                tensors.extend(keys.zip(&se.p).map(|((k, shape), v)| (k, shape, v.clone())));
            }
        }
        tensors.extend(self.last.conv.tensors(eps));
        replace(weights, tensors)
    }
}

/// Label-sampled batches through the trainable tail.
struct FineTune<'a, F> {
    tail: &'a mut Tail,
    sampler: LabelSampler,
    labels: &'a [u32],
    hw: (usize, usize),
    trunk: F,
    items: Vec<usize>,
    acts: Vec<f32>,
    pooled: Vec<f32>,
    /// Normalised embeddings and their norms (for the backward pass).
    u: Vec<f32>,
    norms: Vec<f64>,
}

impl<F: FnMut(&[usize], &mut [f32]) -> Result<()>> Batches for FineTune<'_, F> {
    fn fill(&mut self, x: &mut [f32], labels: &mut [u32]) -> Result<()> {
        self.sampler.next(&mut self.items);
        (self.trunk)(&self.items, &mut self.acts)?;
        let n = self.items.len();
        self.tail
            .forward(&self.acts, n, self.hw, &mut self.pooled)?;
        normalize(
            &self.pooled,
            self.tail.last.cout(),
            &mut self.u,
            &mut self.norms,
        );
        x.copy_from_slice(&self.u);
        for (l, &i) in labels.iter_mut().zip(&self.items) {
            *l = self.labels[i];
        }
        Ok(())
    }

    fn backward(&mut self, dx: &[f32]) -> Result<()> {
        let mut dpooled = vec![0f32; dx.len()];
        normalize_backward(
            &self.u,
            &self.norms,
            dx,
            self.tail.last.cout(),
            &mut dpooled,
        );
        self.tail.backward(&dpooled)
    }

    fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        self.tail.params_mut()
    }
}

/// Trains `tail` and `head` together on the images `labels` describes. `trunk(items, out)`
/// writes, for each image index of `items`, the tail's input (the frozen trunk's output,
/// `hw.0 × hw.1 × tail.cin()`) into consecutive blocks of `out`.
pub fn train_finetune(
    head: &mut ProjectionHead,
    tail: &mut Tail,
    labels: &[u32],
    hw: (usize, usize),
    trunk: impl FnMut(&[usize], &mut [f32]) -> Result<()>,
    config: &TrainConfig,
    progress: impl FnMut(&TrainEvent),
) -> Result<Vec<EpochStats>> {
    check_config(config)?;
    let d = tail.last.cout();
    if head.input_dim() != d || hw.0 * hw.1 == 0 {
        return Err(Error::InvalidArgument(format!(
            "the head takes {}-d inputs, the last conv makes {d}-d ones",
            head.input_dim()
        )));
    }
    let sampler = LabelSampler::new(labels, config)?;
    let rows = sampler.rows();
    let steps_per_epoch = labels.len().div_ceil(rows).max(1);
    let mut batches = FineTune {
        items: vec![0; rows],
        acts: vec![0.0; rows * hw.0 * hw.1 * tail.cin()],
        pooled: vec![0.0; rows * d],
        u: vec![0.0; rows * d],
        norms: vec![0.0; rows],
        tail,
        sampler,
        labels,
        hw,
        trunk,
    };
    run_epochs(head, config, rows, steps_per_epoch, &mut batches, progress)
}
