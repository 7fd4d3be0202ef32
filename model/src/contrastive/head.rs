//! A trainable projection head on top of backbone embeddings: one Linear layer, or a 2-layer
//! MLP `Linear → ReLU → Linear` (SimCLR's head), with forward, backward and safetensors I/O.
//!
//! Parameters use PyTorch's `nn.Sequential` names (`0.weight`, `0.bias`, `2.weight`,
//! `2.bias`; weights `[out][in]`) under the prefix `head.`, and PyTorch's default `nn.Linear`
//! initialisation (uniform in ±1/√in for weights and biases). Products run on the GEMM
//! kernels in `f32` (see [`Real`]); every buffer is reused across batches.

use super::backprop::{pointwise_backward, pointwise_forward};
use super::real::Real;
use crate::buffers::grow;
use crate::error::{Error, Result};
use crate::rng::SplitMix;
use crate::weights::Weights;

/// The shape of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadKind {
    /// `Linear(input → output)`.
    Linear,
    /// `Linear(input → hidden) → ReLU → Linear(hidden → output)`.
    Mlp {
        /// Hidden width.
        hidden: usize,
    },
}

/// One dense layer's parameters (and, during training, their gradients).
#[derive(Clone, Debug)]
struct Dense<T> {
    inputs: usize,
    outputs: usize,
    /// `[outputs][inputs]`.
    w: Vec<T>,
    b: Vec<T>,
    dw: Vec<T>,
    db: Vec<T>,
}

/// A projection head with its forward activations (kept for [`ProjectionHead::backward`]).
#[derive(Clone, Debug)]
pub struct ProjectionHead<T = f32> {
    kind: HeadKind,
    layers: Vec<Dense<T>>,
    /// Per layer: its input batch (row-major), then the final output.
    acts: Vec<Vec<T>>,
    rows: usize,
    /// ∂L/∂input of the last [`Self::backward`].
    dx: Vec<T>,
}

impl<T: Real> ProjectionHead<T> {
    /// A freshly initialised head `input → output` from `seed`.
    pub fn new(kind: HeadKind, input: usize, output: usize, seed: u64) -> Result<Self> {
        let dims = match kind {
            HeadKind::Linear => vec![input, output],
            HeadKind::Mlp { hidden } => vec![input, hidden, output],
        };
        if dims.iter().any(|&d| d == 0 || d > 1 << 20) {
            return Err(Error::InvalidArgument(format!(
                "head dimensions {dims:?} must be between 1 and 2^20"
            )));
        }
        let mut rng = SplitMix::new(seed);
        let layers = dims
            .windows(2)
            .map(|io| {
                let bound = 1.0 / (io[0] as f64).sqrt();
                let mut draw = |n: usize| {
                    (0..n)
                        .map(|_| T::of(bound * (2.0 * rng.unit() - 1.0)))
                        .collect()
                };
                let w = draw(io[0] * io[1]);
                let b = draw(io[1]);
                Dense {
                    inputs: io[0],
                    outputs: io[1],
                    w,
                    b,
                    dw: vec![T::default(); io[0] * io[1]],
                    db: vec![T::default(); io[1]],
                }
            })
            .collect::<Vec<_>>();
        Ok(ProjectionHead {
            kind,
            acts: vec![Vec::new(); layers.len() + 1],
            layers,
            rows: 0,
            dx: Vec::new(),
        })
    }

    /// The head's shape.
    pub fn kind(&self) -> HeadKind {
        self.kind
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.layers[0].inputs
    }

    /// Output width.
    pub fn output_dim(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// Applies the head to `rows` inputs (row-major); returns the `rows × output` result,
    /// keeping the activations for [`Self::backward`].
    pub fn forward(&mut self, x: &[T], rows: usize) -> Result<&[T]> {
        let d = self.input_dim();
        if rows == 0 || x.len() != rows * d {
            return Err(Error::InvalidArgument(format!(
                "head input holds {} values, expected {rows} × {d}",
                x.len()
            )));
        }
        self.rows = rows;
        grow(&mut self.acts[0], rows * d);
        self.acts[0][..rows * d].copy_from_slice(x);
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            let (inp, out) = self.acts.split_at_mut(l + 1);
            let (input, output) = (&inp[l][..rows * layer.inputs], &mut out[0]);
            grow(output, rows * layer.outputs);
            let y = &mut output[..rows * layer.outputs];
            pointwise_forward(input, rows, layer.inputs, &layer.w, &layer.b, y)?;
            if l < last {
                y.iter_mut().for_each(|v| *v = T::of(v.f64().max(0.0)));
            }
        }
        let n = rows * self.output_dim();
        Ok(&self.acts[self.layers.len()][..n])
    }

    /// Back-propagates `dy` (∂L/∂output of the last [`Self::forward`]) into the parameter
    /// gradients (overwriting them) and returns ∂L/∂input (`rows × input`).
    pub fn backward(&mut self, dy: &[T]) -> Result<&[T]> {
        let rows = self.rows;
        if rows == 0 || dy.len() != rows * self.output_dim() {
            return Err(Error::InvalidArgument(
                "head backward needs the output gradient of the last forward".into(),
            ));
        }
        let mut grad = dy.to_vec();
        for l in (0..self.layers.len()).rev() {
            let layer = &mut self.layers[l];
            let x = &self.acts[l][..rows * layer.inputs];
            let mut dx = vec![T::default(); x.len()];
            let (w, dw, db) = (&layer.w, &mut layer.dw, &mut layer.db);
            pointwise_backward(x, rows, layer.inputs, w, &grad, Some(&mut dx), dw, db)?;
            // Through the ReLU that produced x (every layer's input but the first's).
            if l > 0 {
                for (g, a) in dx.iter_mut().zip(x) {
                    if a.f64() <= 0.0 {
                        *g = T::default();
                    }
                }
            }
            grad = dx;
        }
        self.dx = grad;
        Ok(&self.dx)
    }

    /// Every parameter tensor with its gradient, in order (`0.weight`, `0.bias`, …).
    pub fn params_mut(&mut self) -> Vec<(&mut [T], &[T])> {
        self.layers
            .iter_mut()
            .flat_map(|d| [(&mut d.w[..], &d.dw[..]), (&mut d.b[..], &d.db[..])])
            .collect()
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|d| d.w.len() + d.b.len()).sum()
    }
}

impl ProjectionHead<f32> {
    /// The parameters as safetensors-ready [`Weights`] (`head.0.weight`, …; metadata `head` =
    /// `linear` or `mlp`, `input`, `output`, `hidden`).
    pub fn to_weights(&self) -> Result<Weights> {
        let mut w = Weights::new();
        for (l, d) in self.layers.iter().enumerate() {
            let k = 2 * l;
            w.insert(
                &format!("head.{k}.weight"),
                vec![d.outputs, d.inputs],
                d.w.clone(),
            )?;
            w.insert(&format!("head.{k}.bias"), vec![d.outputs], d.b.clone())?;
        }
        w.set_metadata(
            "head",
            match self.kind {
                HeadKind::Linear => "linear",
                HeadKind::Mlp { .. } => "mlp",
            },
        );
        w.set_metadata("input", &self.input_dim().to_string());
        w.set_metadata("output", &self.output_dim().to_string());
        if let HeadKind::Mlp { hidden } = self.kind {
            w.set_metadata("hidden", &hidden.to_string());
        }
        Ok(w)
    }

    /// A head from [`Self::to_weights`]'s format.
    pub fn from_weights(w: &Weights) -> Result<Self> {
        let num = |k: &str| -> Result<usize> {
            w.metadata(k)
                .ok_or_else(|| Error::Format(format!("head file lacks `{k}` metadata")))?
                .parse()
                .map_err(|_| Error::Format(format!("head metadata `{k}` is not a count")))
        };
        let kind = match w.metadata("head") {
            Some("linear") => HeadKind::Linear,
            Some("mlp") => HeadKind::Mlp {
                hidden: num("hidden")?,
            },
            other => {
                return Err(Error::Format(format!(
                    "not a projection head file (metadata head = {other:?})"
                )));
            }
        };
        let mut head = ProjectionHead::new(kind, num("input")?, num("output")?, 0)?;
        let r = crate::weights::Reader::new(w);
        for (l, d) in head.layers.iter_mut().enumerate() {
            let k = 2 * l;
            d.w.copy_from_slice(r.take(&format!("head.{k}.weight"), &[d.outputs, d.inputs])?);
            d.b.copy_from_slice(r.take(&format!("head.{k}.bias"), &[d.outputs])?);
        }
        r.finish()?;
        Ok(head)
    }
}
