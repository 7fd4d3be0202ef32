//! Optimisers (SGD with momentum, Adam) with weight decay, and the cosine learning-rate
//! schedule, with PyTorch's update rules:
//! - SGD: `g ← g + λp`; `b ← μb + g` (`b = g` at the first step); `p ← p − lr·(g + μb)` with
//!   Nesterov, else `p ← p − lr·b` (`torch.optim.SGD`);
//! - Adam with decoupled weight decay (`torch.optim.AdamW`): `p ← p − lr·λp`; `m ← β₁m +
//!   (1−β₁)g`; `v ← β₂v + (1−β₂)g²`; `p ← p − lr·m̂/(√v̂ + ε)` with bias-corrected `m̂`, `v̂`.

use crate::error::{Error, Result};

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent with (optionally Nesterov) momentum.
    Sgd {
        /// Momentum μ (0 disables it).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// Adam with decoupled weight decay (AdamW).
    Adam {
        /// β₁.
        beta1: f64,
        /// β₂.
        beta2: f64,
        /// ε.
        eps: f64,
    },
}

impl OptimizerKind {
    /// SGD with momentum 0.9.
    pub const SGD: OptimizerKind = OptimizerKind::Sgd {
        momentum: 0.9,
        nesterov: false,
    };
    /// Adam with PyTorch's defaults (β = 0.9, 0.999; ε = 1e-8).
    pub const ADAM: OptimizerKind = OptimizerKind::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
}

/// An optimiser's state over a fixed list of parameter tensors.
pub struct Optimizer {
    kind: OptimizerKind,
    weight_decay: f64,
    /// Momentum buffers (SGD) or first moments (Adam), per tensor.
    m: Vec<Vec<f32>>,
    /// Second moments (Adam), per tensor.
    v: Vec<Vec<f32>>,
    steps: u64,
}

impl Optimizer {
    /// A new optimiser; `weight_decay` λ ≥ 0.
    pub fn new(kind: OptimizerKind, weight_decay: f64) -> Result<Self> {
        let ok = match kind {
            OptimizerKind::Sgd { momentum, .. } => (0.0..1.0).contains(&momentum),
            OptimizerKind::Adam { beta1, beta2, eps } => {
                (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2) && eps > 0.0
            }
        };
        if !(ok && weight_decay.is_finite() && weight_decay >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "optimiser {kind:?} with weight decay {weight_decay}: momentum/betas must be in \
                 [0, 1), eps and weight decay non-negative"
            )));
        }
        Ok(Optimizer {
            kind,
            weight_decay,
            m: Vec::new(),
            v: Vec::new(),
            steps: 0,
        })
    }

    /// Applies one update at learning rate `lr` to `params` (each with its gradient; the
    /// same tensors, in the same order, at every step).
    pub fn step(&mut self, params: Vec<(&mut [f32], &[f32])>, lr: f64) -> Result<()> {
        if self.m.is_empty() {
            self.m = params.iter().map(|(p, _)| vec![0.0; p.len()]).collect();
            self.v = self.m.clone();
        }
        if params.len() != self.m.len()
            || params
                .iter()
                .zip(&self.m)
                .any(|((p, g), m)| p.len() != m.len() || g.len() != m.len())
        {
            return Err(Error::InvalidArgument(
                "optimiser stepped with different parameter tensors".into(),
            ));
        }
        if let Some(bad) = params
            .iter()
            .flat_map(|(_, g)| g.iter())
            .find(|g| !g.is_finite())
        {
            return Err(Error::InvalidArgument(format!("non-finite gradient {bad}")));
        }
        self.steps += 1;
        let wd = self.weight_decay;
        for (((p, g), m), v) in params.into_iter().zip(&mut self.m).zip(&mut self.v) {
            match self.kind {
                OptimizerKind::Sgd { momentum, nesterov } => {
                    for ((p, &g), b) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                        let g = f64::from(g) + wd * f64::from(*p);
                        let buf = if self.steps == 1 {
                            g
                        } else {
                            momentum * f64::from(*b) + g
                        };
                        *b = buf as f32;
                        let d = if nesterov { g + momentum * buf } else { buf };
                        *p = (f64::from(*p) - lr * d) as f32;
                    }
                }
                OptimizerKind::Adam { beta1, beta2, eps } => {
                    let c1 = 1.0 - beta1.powf(self.steps as f64);
                    let c2 = 1.0 - beta2.powf(self.steps as f64);
                    for (((p, &g), m1), m2) in
                        p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        let g = f64::from(g);
                        let a = beta1 * f64::from(*m1) + (1.0 - beta1) * g;
                        let b = beta2 * f64::from(*m2) + (1.0 - beta2) * g * g;
                        *m1 = a as f32;
                        *m2 = b as f32;
                        let p0 = f64::from(*p) * (1.0 - lr * wd);
                        *p = (p0 - lr * (a / c1) / ((b / c2).sqrt() + eps)) as f32;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Cosine learning-rate schedule with linear warm-up: `lr(t)` rises from `base/warmup` to
/// `base` over the first `warmup` steps, then follows `min + ½(base − min)(1 + cos(π·t'/T'))`
/// down to `min` at step `total`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineSchedule {
    /// Peak learning rate.
    pub base: f64,
    /// Final learning rate.
    pub min: f64,
    /// Warm-up steps.
    pub warmup: u64,
    /// Total steps.
    pub total: u64,
}

impl CosineSchedule {
    /// The learning rate at step `t` (0-based).
    pub fn lr(&self, t: u64) -> f64 {
        if t < self.warmup {
            return self.base * (t + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1);
        let progress = ((t - self.warmup) as f64 / span as f64).min(1.0);
        self.min + 0.5 * (self.base - self.min) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
