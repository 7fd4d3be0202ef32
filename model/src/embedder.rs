//! Images → L2-normalised embedding vectors: preprocessing, a [`Network`] and per-thread
//! workspaces, shareable across threads.

use std::sync::Mutex;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_kernels::parallel::{MAX_THREADS, ThreadPool};

use crate::error::{Error, Result};
use crate::network::{Network, Output, Workspace};
use crate::preprocess::{ImageView, Preprocess, Scratch};
use crate::quantized::{
    QuantNetwork, QuantWorkspace, RangeMethod, preprocess_all, quantize_network,
};
use crate::weights::Weights;

/// The network behind an embedder: f32, or INT8 (pooled output only).
enum Model {
    F32(Network),
    Int8(QuantNetwork),
}

/// How an [`Embedder`] turns network outputs into vectors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmbedderOptions {
    /// Which network output is the embedding (default: the pooled features).
    pub output: Output,
    /// Divide each vector by its L2 norm (default true).
    pub l2_normalize: bool,
    /// Image preprocessing.
    pub preprocess: Preprocess,
    /// Threads `embed_batch` spreads images over, on a persistent pool (default 1; 0 means
    /// all cores).
    pub threads: usize,
    /// Cores each image's convolutions are split over (default 1; 0 means all cores): lowers
    /// the latency of one image; for throughput on many images prefer `threads`.
    pub image_threads: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            output: Output::Pooled,
            l2_normalize: true,
            preprocess: Preprocess::default(),
            threads: 1,
            image_threads: 1,
        }
    }
}

/// Per-call scratch: the network workspace, the preprocessed tensor, resampling buffers and
/// the result (copied to the caller's buffer only on success).
#[derive(Default)]
struct Session {
    ws: Workspace,
    qws: QuantWorkspace,
    tensor: Vec<f32>,
    scratch: Scratch,
    result: Vec<f32>,
}

/// A network plus preprocessing. `Send + Sync`: `embed` may be called from many threads at
/// once; each concurrent call uses its own workspace from an internal pool (allocated on first
/// use, then reused, so steady-state calls do not allocate in the network).
pub struct Embedder {
    net: Model,
    opts: EmbedderOptions,
    dim: usize,
    sessions: Mutex<Vec<Session>>,
    /// Persistent workers for `embed_batch` (`threads > 1`).
    batch_pool: Option<ThreadPool>,
}

/// `0` means every core.
fn cores(n: usize) -> usize {
    match n {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
}

/// The persistent pool for `embed_batch` when `threads` (0 = all cores) is above 1.
fn batch_pool(threads: usize) -> Result<Option<ThreadPool>> {
    crate::split::pool(cores(threads).min(MAX_THREADS))
}

/// One worker's share of a batch in [`Embedder::embed_batch_into`].
struct BatchPart<'a, 'b> {
    images: &'a [ImageView<'b>],
    out: &'a mut [f32],
    result: Result<()>,
}

impl Embedder {
    /// An embedder over `net`. Errors if the options are invalid or the network cannot
    /// produce `opts.output`.
    pub fn new(mut net: Network, opts: EmbedderOptions) -> Result<Self> {
        opts.preprocess.validate()?;
        net.set_threads(cores(opts.image_threads))?;
        let dim = net.output_dim(opts.output)?;
        Ok(Embedder {
            net: Model::F32(net),
            opts,
            dim,
            sessions: Mutex::new(Vec::new()),
            batch_pool: batch_pool(opts.threads)?,
        })
    }

    /// An embedder over an INT8 network. Its output is the pooled features
    /// (`opts.output` must be `Pooled`).
    pub fn new_quantized(net: QuantNetwork, opts: EmbedderOptions) -> Result<Self> {
        opts.preprocess.validate()?;
        if opts.output != Output::Pooled {
            return Err(Error::Unsupported(format!(
                "INT8 models produce the pooled embedding only, not {}",
                opts.output
            )));
        }
        let mut net = net;
        net.set_threads(cores(opts.image_threads))?;
        Ok(Embedder {
            dim: net.dim(),
            net: Model::Int8(net),
            opts,
            sessions: Mutex::new(Vec::new()),
            batch_pool: batch_pool(opts.threads)?,
        })
    }

    /// An INT8 embedder from f32 `weights` (metadata naming the architecture): builds the f32
    /// network, measures activation ranges with `method` on `calibration` images (preprocessed
    /// as `opts` says), and quantizes, with the layers named in `f32_layers` (and those
    /// INT8 cannot represent) in f32 (see [`quantize_network`]).
    pub fn quantize(
        weights: &Weights,
        calibration: &[ImageView<'_>],
        method: RangeMethod,
        f32_layers: &[String],
        opts: EmbedderOptions,
        table: &KernelTable,
    ) -> Result<Self> {
        let net = Network::from_metadata(weights, table)?;
        let p = &opts.preprocess;
        let tensors = preprocess_all(calibration, p)?;
        let q = quantize_network(&net, weights, &tensors, p.size, method, f32_layers, table)?;
        Self::new_quantized(q, opts)
    }

    /// The default pretrained model (MobileNetV2, ImageNet features; see
    /// [`crate::pretrained`]) with the best kernels for this CPU.
    pub fn pretrained(opts: EmbedderOptions) -> Result<Self> {
        let w = crate::pretrained::load_default()?;
        Self::new(Network::from_metadata(&w, KernelTable::best())?, opts)
    }

    /// A model from weights whose metadata names the architecture: INT8 when the metadata
    /// holds calibrated ranges (a quantized model file, see [`crate::quantized::save_into`]),
    /// else f32.
    pub fn from_weights(weights: &Weights, opts: EmbedderOptions) -> Result<Self> {
        let table = KernelTable::best();
        match crate::quantized::from_weights(weights, table)? {
            Some(q) => Self::new_quantized(q, opts),
            None => Self::new(Network::from_metadata(weights, table)?, opts),
        }
    }

    /// Values per embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The f32 network (`None` for an INT8 embedder).
    pub fn network(&self) -> Option<&Network> {
        match &self.net {
            Model::F32(n) => Some(n),
            Model::Int8(_) => None,
        }
    }

    /// The INT8 network (`None` for an f32 embedder).
    pub fn quantized(&self) -> Option<&QuantNetwork> {
        match &self.net {
            Model::F32(_) => None,
            Model::Int8(q) => Some(q),
        }
    }

    /// The architecture.
    pub fn arch(&self) -> crate::Arch {
        match &self.net {
            Model::F32(n) => n.arch(),
            Model::Int8(q) => q.arch(),
        }
    }

    /// The width multiplier.
    pub fn width_mult(&self) -> f32 {
        match &self.net {
            Model::F32(n) => n.width_mult(),
            Model::Int8(q) => q.width_mult(),
        }
    }

    /// `"f32"` or `"int8"`.
    pub fn precision(&self) -> &'static str {
        match &self.net {
            Model::F32(_) => "f32",
            Model::Int8(_) => "int8",
        }
    }

    /// Values per image the model can produce for `output` (an error if it cannot).
    pub fn output_dim(&self, output: Output) -> Result<usize> {
        match &self.net {
            Model::F32(n) => n.output_dim(output),
            Model::Int8(q) if output == Output::Pooled => Ok(q.dim()),
            Model::Int8(_) => Err(Error::Unsupported(format!(
                "INT8 models produce the pooled embedding only, not {output}"
            ))),
        }
    }

    /// `(layer, kernel ids)` of every layer, in order.
    pub fn kernels(&self) -> Vec<(String, String)> {
        match &self.net {
            Model::F32(n) => n.kernels(),
            Model::Int8(q) => q.kernels(),
        }
    }

    /// Runs the model on a batch of preprocessed images into `s.result`.
    fn run(&self, shape: Nhwc, data: &[f32], s: &mut Session) -> Result<usize> {
        match &self.net {
            Model::F32(n) => n.forward(shape, data, self.opts.output, &mut s.result, &mut s.ws),
            Model::Int8(q) => q.forward(shape, data, &mut s.result, &mut s.qws),
        }
    }

    /// The options.
    pub fn options(&self) -> &EmbedderOptions {
        &self.opts
    }

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let taken = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut session = taken.unwrap_or_default();
        let result = f(&mut session);
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(session);
        result
    }

    /// Normalises `v` in place (if configured); errors on a non-finite or all-zero vector,
    /// which would otherwise be returned silently as garbage.
    fn finish(&self, v: &mut [f32]) -> Result<()> {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "embedding value {i} is not finite (non-finite input values?)"
            )));
        }
        if self.opts.l2_normalize {
            let norm = v
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 {
                return Err(Error::InvalidArgument(
                    "embedding is all zeros and cannot be L2-normalised".into(),
                ));
            }
            let inv = (1.0 / norm) as f32;
            v.iter_mut().for_each(|x| *x *= inv);
        }
        Ok(())
    }

    /// Embeds one image into `out[..dim()]`. On error `out` is left untouched.
    pub fn embed_into(&self, image: &ImageView<'_>, out: &mut [f32]) -> Result<()> {
        let dim = self.dim;
        if out.len() < dim {
            return Err(Error::InvalidArgument(format!(
                "output buffer holds {} floats, the embedding has {dim}",
                out.len()
            )));
        }
        let p = &self.opts.preprocess;
        self.with_session(|s| {
            if s.tensor.len() < p.tensor_len() {
                s.tensor.resize(p.tensor_len(), 0.0);
            }
            if s.result.len() < dim {
                s.result.resize(dim, 0.0);
            }
            p.run(image, &mut s.tensor, &mut s.scratch)?;
            let shape = Nhwc::new(1, p.size, p.size, 3);
            let tensor = std::mem::take(&mut s.tensor);
            let r = self.run(shape, &tensor, s);
            s.tensor = tensor;
            r?;
            self.finish(&mut s.result[..dim])?;
            out[..dim].copy_from_slice(&s.result[..dim]);
            Ok(())
        })
    }

    /// Embeds one image.
    pub fn embed(&self, image: &ImageView<'_>) -> Result<Vec<f32>> {
        let mut v = vec![0.0; self.dim];
        self.embed_into(image, &mut v)?;
        Ok(v)
    }

    /// Embeds images, spread over `options().threads` threads; results in input order.
    /// Fails on the first image that fails.
    pub fn embed_batch(&self, images: &[ImageView<'_>]) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![0.0; images.len() * self.dim];
        self.embed_batch_into(images, &mut out)?;
        Ok(out
            .chunks_exact(self.dim.max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Embeds images into `out` (`images.len() · dim()` floats, row-major).
    pub fn embed_batch_into(&self, images: &[ImageView<'_>], out: &mut [f32]) -> Result<()> {
        let dim = self.dim;
        let needed = images
            .len()
            .checked_mul(dim)
            .ok_or_else(|| Error::InvalidArgument("batch too large".into()))?;
        if out.len() < needed {
            return Err(Error::InvalidArgument(format!(
                "output buffer holds {} floats, {} x {dim} needed",
                out.len(),
                images.len()
            )));
        }
        let Some(pool) = self.batch_pool.as_ref().filter(|_| images.len() > 1) else {
            for (img, o) in images.iter().zip(out.chunks_exact_mut(dim)) {
                self.embed_into(img, o)?;
            }
            return Ok(());
        };
        let per = images.len().div_ceil(pool.threads());
        let mut parts: [Option<BatchPart<'_, '_>>; MAX_THREADS] = std::array::from_fn(|_| None);
        let mut count = 0;
        for (images, out) in images.chunks(per).zip(out[..needed].chunks_mut(per * dim)) {
            parts[count] = Some(BatchPart {
                images,
                out,
                result: Ok(()),
            });
            count += 1;
        }
        pool.for_each_mut(&mut parts[..count], |_, part| {
            if let Some(p) = part {
                p.result = p
                    .images
                    .iter()
                    .zip(p.out.chunks_exact_mut(dim))
                    .try_for_each(|(img, o)| self.embed_into(img, o));
            }
        });
        parts[..count]
            .iter_mut()
            .try_for_each(|p| p.take().map_or(Ok(()), |p| p.result))
    }

    /// Embeds preprocessed NHWC f32 images (`shape.c == 3`, any height and width) into
    /// `out` (`shape.n · dim()` floats). No preprocessing is applied. On error `out` is left
    /// untouched.
    pub fn embed_tensor(&self, shape: Nhwc, data: &[f32], out: &mut [f32]) -> Result<()> {
        let total = shape
            .n
            .checked_mul(self.dim)
            .ok_or_else(|| Error::InvalidArgument("batch too large".into()))?;
        if out.len() < total {
            return Err(Error::InvalidArgument(format!(
                "output buffer holds {} floats, {} x {} needed",
                out.len(),
                shape.n,
                self.dim
            )));
        }
        self.with_session(|s| {
            if s.result.len() < total {
                s.result.resize(total, 0.0);
            }
            self.run(shape, data, s)?;
            for v in s.result[..total].chunks_exact_mut(self.dim) {
                self.finish(v)?;
            }
            out[..total].copy_from_slice(&s.result[..total]);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedder_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Embedder>();
    }
}
