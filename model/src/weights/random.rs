//! Randomly initialised weights, as torchvision initialises an untrained model: Kaiming-normal
//! (fan-out) convolutions, BatchNorm γ = 1, β = 0 with running mean 0 and variance 1,
//! Linear weights N(0, 0.01²), zero biases. Used for baselines and benchmarks of
//! architectures without registry-available pretrained weights.

use super::Weights;
use crate::arch::{Arch, Spec};
use crate::error::Result;
use crate::resnet::ResNetOptions;
use crate::rng::SplitMix;

/// Box–Muller normals from SplitMix64.
struct Normal(SplitMix);

impl Normal {
    fn sample(&mut self) -> f64 {
        let (u, v) = (self.0.unit_nonzero(), self.0.unit_nonzero());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

impl Weights {
    /// torchvision-style random weights for `arch` at `width_mult`, with a classifier of
    /// `classes` outputs when given, from `seed`.
    pub fn random(
        arch: Arch,
        width_mult: f32,
        classes: Option<usize>,
        seed: u64,
    ) -> Result<Weights> {
        let spec = Spec::new(arch, width_mult)?;
        let mut w = random_tensors(spec.tensors(classes), seed)?;
        w.set_metadata("arch", arch.torchvision_name());
        w.set_metadata("width_mult", &width_mult.to_string());
        w.set_metadata("source", &format!("random init, seed {seed}"));
        Ok(w)
    }

    /// torchvision-style random weights for the ResNet `options` describe (metadata `arch` =
    /// `resnet18`/`resnet34`, `width`), with an `fc` of `classes` outputs when given.
    pub fn random_resnet(
        options: &ResNetOptions,
        classes: Option<usize>,
        seed: u64,
    ) -> Result<Weights> {
        let mut w = random_tensors(options.tensors(classes), seed)?;
        w.set_metadata("arch", options.depth.name());
        w.set_metadata("width", &options.width.to_string());
        w.set_metadata("source", &format!("random init, seed {seed}"));
        Ok(w)
    }
}

/// Random values for `tensors` (see the module docs), from `seed`.
fn random_tensors(tensors: Vec<(String, Vec<usize>)>, seed: u64) -> Result<Weights> {
    let mut rng = Normal(SplitMix::new(seed));
    let mut w = Weights::new();
    for (key, shape) in tensors {
        let count: usize = shape.iter().product();
        let data: Vec<f32> = if key.ends_with("running_var") || is_bn_weight(&key, &shape) {
            vec![1.0; count]
        } else if shape.len() == 4 {
            // Kaiming normal, mode fan_out (PyTorch: size(0) · receptive field).
            let std = (2.0 / (shape[0] * shape[2] * shape[3]) as f64).sqrt();
            (0..count).map(|_| (rng.sample() * std) as f32).collect()
        } else if shape.len() == 2 {
            (0..count).map(|_| (rng.sample() * 0.01) as f32).collect()
        } else {
            vec![0.0; count]
        };
        w.insert(&key, shape, data)?;
    }
    Ok(w)
}

/// A BatchNorm γ: a 1-d `.weight` (conv and Linear weights have more dimensions).
fn is_bn_weight(key: &str, shape: &[usize]) -> bool {
    key.ends_with(".weight") && shape.len() == 1
}
