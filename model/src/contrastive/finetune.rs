//! Fine-tuning the top of a MobileNet together with a projection head: the last convolution
//! (1x1, BatchNorm in eval mode folded in, then its activation) and the global average pool
//! become trainable; everything below (the "trunk") stays frozen and runs on the inference
//! kernels.
//!
//! A step: the trunk's output for each image of a label-sampled batch (computed by the
//! caller, see [`crate::Network::last_conv_input`]) → [`LastConv`] → pool → L2 normalisation
//! (as the embedder does) → head → loss; the gradient flows back through the head, the
//! normalisation, the pool, the activation and the convolution (the backward passes of
//! [`super::backprop`], checked against finite differences), and one optimiser step updates
//! both. [`LastConv::export`] writes the tuned convolution back into torchvision-named
//! weights (BatchNorm set to the identity plus the folded bias), so the result loads as an
//! ordinary backbone.

use ruvector_cnn_kernels::Activation;

use super::backprop::{
    act_backward, act_forward, gap_backward, gap_forward, pointwise_backward, pointwise_forward,
};
use super::head::ProjectionHead;
use super::loss::{normalize, normalize_backward};
use super::train::{
    Batches, EpochStats, LabelSampler, TrainConfig, TrainEvent, check_config, run_epochs,
};
use crate::arch::{Arch, Spec};
use crate::error::{Error, Result};
use crate::network::fold;
use crate::weights::{Reader, Weights};

/// The trainable last convolution of a MobileNet, with its forward caches.
pub struct LastConv {
    arch: Arch,
    width_mult: f32,
    cin: usize,
    cout: usize,
    act: Activation,
    /// Folded `[cout][cin]` weights and bias.
    w: Vec<f32>,
    b: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
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
        let c = &spec.last;
        let (w, b) = fold(&Reader::new(weights), c, arch.bn_eps())?;
        Ok(LastConv {
            arch,
            width_mult,
            cin: c.cin,
            cout: c.cout,
            act: c.act,
            dw: vec![0.0; w.len()],
            db: vec![0.0; b.len()],
            w,
            b,
            x: Vec::new(),
            pre: Vec::new(),
            post: Vec::new(),
            n: 0,
            pixels: 0,
        })
    }

    /// Input channels.
    pub fn cin(&self) -> usize {
        self.cin
    }

    /// Output channels (the pooled embedding's width).
    pub fn cout(&self) -> usize {
        self.cout
    }

    /// Pooled features (`n × cout`) of `x`: `n` images of `pixels × cin`.
    pub fn forward(
        &mut self,
        x: &[f32],
        n: usize,
        pixels: usize,
        pooled: &mut [f32],
    ) -> Result<()> {
        let m = n * pixels;
        if n == 0 || pixels == 0 || x.len() != m * self.cin || pooled.len() != n * self.cout {
            return Err(Error::InvalidArgument(format!(
                "last conv: {} input values for {n} × {pixels} × {}",
                x.len(),
                self.cin
            )));
        }
        self.x.clear();
        self.x.extend_from_slice(x);
        self.pre.resize(m * self.cout, 0.0);
        self.post.resize(m * self.cout, 0.0);
        pointwise_forward(x, m, self.cin, &self.w, &self.b, &mut self.pre)?;
        act_forward(self.act, &self.pre, &mut self.post);
        gap_forward(&self.post, n, pixels, self.cout, pooled)?;
        (self.n, self.pixels) = (n, pixels);
        Ok(())
    }

    /// Parameter gradients from `dpooled` (∂L/∂pooled of the last forward).
    pub fn backward(&mut self, dpooled: &[f32]) -> Result<()> {
        let m = self.n * self.pixels;
        let mut dpost = vec![0f32; m * self.cout];
        gap_backward(dpooled, self.n, self.pixels, self.cout, &mut dpost)?;
        let mut dpre = vec![0f32; m * self.cout];
        act_backward(self.act, &self.pre, &dpost, &mut dpre);
        pointwise_backward(
            &self.x,
            m,
            self.cin,
            &self.w,
            &dpre,
            None,
            &mut self.dw,
            &mut self.db,
        )
    }

    /// The weights and bias with their gradients.
    pub fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        vec![
            (&mut self.w[..], &self.dw[..]),
            (&mut self.b[..], &self.db[..]),
        ]
    }

    /// `weights` with the tuned convolution in place of the original: its weight tensor is the
    /// folded weight, its BatchNorm `γ = 1`, `β` = the folded bias, running mean 0 and
    /// variance `1 − ε`, so BatchNorm is exactly `x + β`.
    pub fn export(&self, weights: &Weights) -> Result<Weights> {
        let spec = Spec::new(self.arch, self.width_mult)?;
        let c = &spec.last;
        let eps = self.arch.bn_eps();
        let bn = |p: &str| format!("{}.{p}", c.bn);
        let replaced = [
            c.weight.clone(),
            bn("weight"),
            bn("bias"),
            bn("running_mean"),
            bn("running_var"),
        ];
        let mut out = weights
            .clone()
            .rename(|k| (!replaced.iter().any(|r| r == k)).then(|| k.to_string()))?;
        let cout = self.cout;
        out.insert(&c.weight, vec![cout, self.cin, 1, 1], self.w.clone())?;
        out.insert(&bn("weight"), vec![cout], vec![1.0; cout])?;
        out.insert(&bn("bias"), vec![cout], self.b.clone())?;
        out.insert(&bn("running_mean"), vec![cout], vec![0.0; cout])?;
        out.insert(&bn("running_var"), vec![cout], vec![1.0 - eps; cout])?;
        Ok(out)
    }
}

/// Label-sampled batches through the trainable last convolution.
struct FineTune<'a, F> {
    conv: &'a mut LastConv,
    sampler: LabelSampler,
    labels: &'a [u32],
    pixels: usize,
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
        self.conv
            .forward(&self.acts, n, self.pixels, &mut self.pooled)?;
        normalize(&self.pooled, self.conv.cout, &mut self.u, &mut self.norms);
        x.copy_from_slice(&self.u);
        for (l, &i) in labels.iter_mut().zip(&self.items) {
            *l = self.labels[i];
        }
        Ok(())
    }

    fn backward(&mut self, dx: &[f32]) -> Result<()> {
        let mut dpooled = vec![0f32; dx.len()];
        normalize_backward(&self.u, &self.norms, dx, self.conv.cout, &mut dpooled);
        self.conv.backward(&dpooled)
    }

    fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        self.conv.params_mut()
    }
}

/// Trains `conv` and `head` together on the images `labels` describes. `trunk(items, out)`
/// writes, for each image index of `items`, the `pixels × conv.cin()` input of the last
/// convolution (the frozen trunk's output) into consecutive blocks of `out`.
pub fn train_finetune(
    head: &mut ProjectionHead,
    conv: &mut LastConv,
    labels: &[u32],
    pixels: usize,
    trunk: impl FnMut(&[usize], &mut [f32]) -> Result<()>,
    config: &TrainConfig,
    progress: impl FnMut(&TrainEvent),
) -> Result<Vec<EpochStats>> {
    check_config(config)?;
    if head.input_dim() != conv.cout() || pixels == 0 {
        return Err(Error::InvalidArgument(format!(
            "the head takes {}-d inputs, the last conv makes {}-d ones",
            head.input_dim(),
            conv.cout()
        )));
    }
    let sampler = LabelSampler::new(labels, config)?;
    let rows = sampler.rows();
    let steps_per_epoch = labels.len().div_ceil(rows).max(1);
    let d = conv.cout();
    let mut batches = FineTune {
        items: vec![0; rows],
        acts: vec![0.0; rows * pixels * conv.cin()],
        pooled: vec![0.0; rows * d],
        u: vec![0.0; rows * d],
        norms: vec![0.0; rows],
        conv,
        sampler,
        labels,
        pixels,
        trunk,
    };
    run_epochs(head, config, rows, steps_per_epoch, &mut batches, progress)
}
