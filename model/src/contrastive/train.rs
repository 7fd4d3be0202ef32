//! Training a [`ProjectionHead`] on backbone embeddings with labels (supervised pairs).
//!
//! Batches are drawn from the labels, deterministically from the seed:
//! - pair losses (NT-Xent, InfoNCE): up to `batch` distinct classes per batch, two different
//!   items of each as the positive pair, so no in-batch negative shares the anchor's label;
//! - triplet: `P × K` sampling, `K` items of each of `P = batch / K` classes.
//!
//! An epoch is as many batches as cover the data once on average. [`train_simclr`] instead
//! trains without labels on two augmentations of each image (SimCLR). The learning rate
//! follows a [`CosineSchedule`] over all steps; the callback sees each epoch's mean loss.

use std::time::Instant;

use super::head::ProjectionHead;
use super::loss::{LossWorkspace, TripletOptions, info_nce, nt_xent, triplet};
use super::optim::{CosineSchedule, Optimizer, OptimizerKind};
use crate::error::{Error, Result};
use crate::rng::SplitMix;

/// The loss a head is trained with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainLoss {
    /// NT-Xent (SimCLR) over the pairs at temperature `tau`.
    NtXent {
        /// Temperature.
        tau: f64,
    },
    /// Symmetric InfoNCE over the pairs at temperature `tau`.
    InfoNce {
        /// Temperature.
        tau: f64,
    },
    /// Triplet loss with `K` items per class.
    Triplet {
        /// Margin, distance and mining.
        options: TripletOptions,
        /// Items per class in a batch.
        per_class: usize,
    },
}

/// Hyper-parameters of [`train_supervised`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// The loss.
    pub loss: TrainLoss,
    /// Passes over the data.
    pub epochs: usize,
    /// Pairs (pair losses) or rows (triplet) per batch.
    pub batch: usize,
    /// Update rule.
    pub optimizer: OptimizerKind,
    /// Weight decay λ.
    pub weight_decay: f64,
    /// Peak learning rate.
    pub lr: f64,
    /// Warm-up epochs (linear).
    pub warmup_epochs: usize,
    /// Seed of the batch sampling.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            loss: TrainLoss::Triplet {
                options: TripletOptions::default(),
                per_class: 4,
            },
            epochs: 10,
            batch: 128,
            optimizer: OptimizerKind::ADAM,
            weight_decay: 1e-4,
            lr: 1e-3,
            warmup_epochs: 1,
            seed: 1,
        }
    }
}

/// What one epoch did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean loss over its batches.
    pub loss: f64,
    /// Learning rate at its last step.
    pub lr: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// What the progress callback of the training functions sees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainEvent {
    /// A step finished: `step` (1-based) of the `steps` of `epoch` (1-based), with its loss.
    Step {
        /// Epoch.
        epoch: usize,
        /// Step within the epoch.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// The step's loss.
        loss: f64,
    },
    /// An epoch finished.
    Epoch(EpochStats),
}

/// Most items of one class in a triplet batch.
pub const MAX_PER_CLASS: usize = 64;

/// Puts `k` distinct values of `pool` first (`k ≤ pool.len()`), partial Fisher–Yates.
fn pick(rng: &mut SplitMix, pool: &mut [usize], k: usize) {
    for i in 0..k {
        let j = i + rng.below(pool.len() - i);
        pool.swap(i, j);
    }
}

/// Trains `head` on `embeddings` (`labels.len()` rows of the head's input width) with
/// `config`, calling `progress` after each step and epoch; returns every epoch's statistics.
pub fn train_supervised(
    head: &mut ProjectionHead,
    embeddings: &[f32],
    labels: &[u32],
    config: &TrainConfig,
    progress: impl FnMut(&TrainEvent),
) -> Result<Vec<EpochStats>> {
    let (n, d) = (labels.len(), head.input_dim());
    if n == 0 || embeddings.len() != n * d {
        return Err(Error::InvalidArgument(format!(
            "{} embedding values for {n} labels of width {d}",
            embeddings.len()
        )));
    }
    check_config(config)?;
    let mut sampler = LabelSampler::new(labels, config)?;
    let rows = sampler.rows();
    let steps_per_epoch = n.div_ceil(rows).max(1);
    let mut items = vec![0usize; rows];
    let mut batches = FromFn(|x: &mut [f32], batch_labels: &mut [u32]| {
        sampler.next(&mut items);
        for (row, &item) in items.iter().enumerate() {
            x[row * d..(row + 1) * d].copy_from_slice(&embeddings[item * d..(item + 1) * d]);
            batch_labels[row] = labels[item];
        }
        Ok(())
    });
    run_epochs(head, config, rows, steps_per_epoch, &mut batches, progress)
}

/// Supervised batches drawn from labels (see the module docs): the item of every row.
pub(crate) struct LabelSampler {
    /// Items of each class with at least two (only those can form positives).
    classes: Vec<Vec<usize>>,
    per_class: usize,
    classes_per_batch: usize,
    /// Triplet batches are class-major; pair batches put partners `classes_per_batch` apart.
    class_major: bool,
    order: Vec<usize>,
    rng: SplitMix,
}

impl LabelSampler {
    pub(crate) fn new(labels: &[u32], config: &TrainConfig) -> Result<Self> {
        let mut ids: Vec<u32> = labels.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let classes: Vec<Vec<usize>> = ids
            .iter()
            .map(|&id| {
                (0..labels.len())
                    .filter(|&i| labels[i] == id)
                    .collect::<Vec<_>>()
            })
            .filter(|items| items.len() >= 2)
            .collect();
        let (per_class, classes_per_batch) = match config.loss {
            TrainLoss::Triplet { per_class, .. } => {
                if !(2..=MAX_PER_CLASS).contains(&per_class) {
                    return Err(Error::InvalidArgument(format!(
                        "triplet batches take 2 to {MAX_PER_CLASS} items per class, not {per_class}"
                    )));
                }
                (per_class, (config.batch / per_class).max(2))
            }
            _ => (2, config.batch),
        };
        let classes_per_batch = classes_per_batch.min(classes.len());
        if classes_per_batch < 2 {
            return Err(Error::InvalidArgument(
                "training needs at least two classes with two or more items each".into(),
            ));
        }
        Ok(LabelSampler {
            order: (0..classes.len()).collect(),
            classes,
            per_class,
            classes_per_batch,
            class_major: matches!(config.loss, TrainLoss::Triplet { .. }),
            rng: SplitMix::new(config.seed),
        })
    }

    /// Rows per batch.
    pub(crate) fn rows(&self) -> usize {
        self.per_class * self.classes_per_batch
    }

    /// Draws the next batch: `items[row]` is the item of each row.
    pub(crate) fn next(&mut self, items: &mut [usize]) {
        let (k_max, cpb) = (self.per_class, self.classes_per_batch);
        pick(&mut self.rng, &mut self.order, cpb);
        for (ci, &c) in self.order[..cpb].iter().enumerate() {
            let members = &self.classes[c];
            // `k` distinct items (rejection sampling: k ≤ 64 ≪ most class sizes).
            let k = k_max.min(members.len());
            let mut chosen = [0usize; MAX_PER_CLASS];
            let mut got = 0;
            while got < k {
                let i = self.rng.below(members.len());
                if !chosen[..got].contains(&i) {
                    chosen[got] = i;
                    got += 1;
                }
            }
            for j in 0..k_max {
                let row = if self.class_major {
                    ci * k_max + j
                } else {
                    j * cpb + ci
                };
                items[row] = members[chosen[j % k]];
            }
        }
    }
}

/// Where a training step's head inputs come from, and the trainable layers below the head.
pub(crate) trait Batches {
    /// Writes the head's input rows and their labels.
    fn fill(&mut self, x: &mut [f32], labels: &mut [u32]) -> Result<()>;

    /// Back-propagates the gradient of the head's inputs into the layers below (none by
    /// default).
    fn backward(&mut self, _dx: &[f32]) -> Result<()> {
        Ok(())
    }

    /// The trainable tensors below the head, with their gradients.
    fn params_mut(&mut self) -> Vec<(&mut [f32], &[f32])> {
        Vec::new()
    }
}

/// [`Batches`] from a filling closure (nothing trainable below the head).
struct FromFn<F>(F);

impl<F: FnMut(&mut [f32], &mut [u32]) -> Result<()>> Batches for FromFn<F> {
    fn fill(&mut self, x: &mut [f32], labels: &mut [u32]) -> Result<()> {
        (self.0)(x, labels)
    }
}

/// Self-supervised training (SimCLR): every step takes `config.batch` distinct images of
/// `count` (a fresh random order each epoch), two augmentations of each, and trains `head`
/// to match each view with its partner among the batch (NT-Xent, or InfoNCE between the
/// two view sets). `embed(jobs, out)` writes the backbone embedding of augmentation `seed`
/// of image `index` for each `(index, seed)` of `jobs` into consecutive rows of `out` (the
/// caller augments, e.g. with [`super::Augment`], and may embed in parallel).
pub fn train_simclr(
    head: &mut ProjectionHead,
    count: usize,
    mut embed: impl FnMut(&[(usize, u64)], &mut [f32]) -> Result<()>,
    config: &TrainConfig,
    progress: impl FnMut(&TrainEvent),
) -> Result<Vec<EpochStats>> {
    check_config(config)?;
    if matches!(config.loss, TrainLoss::Triplet { .. }) {
        return Err(Error::InvalidArgument(
            "SimCLR training takes NT-Xent or InfoNCE (triplets need labels)".into(),
        ));
    }
    let batch = config.batch.min(count);
    if batch < 2 {
        return Err(Error::InvalidArgument(
            "SimCLR training needs at least two images".into(),
        ));
    }
    let steps_per_epoch = count / batch;
    let mut rng = SplitMix::new(config.seed);
    let mut order: Vec<usize> = (0..count).collect();
    let mut next = count;
    let mut jobs = vec![(0usize, 0u64); 2 * batch];
    let mut batches = FromFn(|x: &mut [f32], _: &mut [u32]| {
        if next + batch > count {
            pick(&mut rng, &mut order, count);
            next = 0;
        }
        for (i, &image) in order[next..next + batch].iter().enumerate() {
            jobs[i] = (image, rng.next_u64());
            jobs[batch + i] = (image, rng.next_u64());
        }
        next += batch;
        embed(&jobs, x)
    });
    run_epochs(
        head,
        config,
        2 * batch,
        steps_per_epoch,
        &mut batches,
        progress,
    )
}

pub(crate) fn check_config(config: &TrainConfig) -> Result<()> {
    if config.epochs == 0 || config.batch == 0 || !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(Error::InvalidArgument(
            "epochs, batch and learning rate must be positive".into(),
        ));
    }
    Ok(())
}

/// The training loop shared by every mode: `epochs × steps_per_epoch` steps, each filling a
/// `rows`-row batch (and its labels, for triplets) with `fill`, then forward, loss, backward
/// and an optimiser step at the scheduled learning rate.
pub(crate) fn run_epochs(
    head: &mut ProjectionHead,
    config: &TrainConfig,
    rows: usize,
    steps_per_epoch: usize,
    batches: &mut impl Batches,
    mut progress: impl FnMut(&TrainEvent),
) -> Result<Vec<EpochStats>> {
    let schedule = CosineSchedule {
        base: config.lr,
        min: config.lr * 1e-2,
        warmup: (steps_per_epoch * config.warmup_epochs) as u64,
        total: (steps_per_epoch * config.epochs) as u64,
    };
    let mut opt = Optimizer::new(config.optimizer, config.weight_decay)?;
    let mut ws = LossWorkspace::<f32>::default();
    let (d, out_dim) = (head.input_dim(), head.output_dim());
    let (mut x, mut batch_labels) = (vec![0f32; rows * d], vec![0u32; rows]);
    let mut grad = vec![0f32; rows * out_dim];
    let mut stats = Vec::with_capacity(config.epochs);
    let mut step = 0u64;
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        let mut sum = 0.0;
        let mut lr = schedule.lr(step);
        for k in 0..steps_per_epoch {
            batches.fill(&mut x, &mut batch_labels)?;
            let y = head.forward(&x, rows)?;
            let loss = match config.loss {
                TrainLoss::NtXent { tau } => nt_xent(y, rows, out_dim, tau, &mut grad, &mut ws)?,
                TrainLoss::InfoNce { tau } => {
                    let half = rows / 2 * out_dim;
                    let (ga, gb) = grad.split_at_mut(half);
                    let (a, b) = y.split_at(half);
                    info_nce(a, b, rows / 2, out_dim, tau, true, ga, gb, &mut ws)?
                }
                TrainLoss::Triplet { options, .. } => triplet(
                    y,
                    rows,
                    out_dim,
                    &batch_labels,
                    &options,
                    &mut grad,
                    &mut ws,
                )?,
            };
            sum += loss;
            progress(&TrainEvent::Step {
                epoch,
                step: k + 1,
                steps: steps_per_epoch,
                loss,
            });
            let dx = head.backward(&grad)?;
            batches.backward(dx)?;
            lr = schedule.lr(step);
            let mut params = head.params_mut();
            params.extend(batches.params_mut());
            opt.step(params, lr)?;
            step += 1;
        }
        let s = EpochStats {
            epoch,
            loss: sum / steps_per_epoch as f64,
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        progress(&TrainEvent::Epoch(s));
        stats.push(s);
    }
    Ok(stats)
}
