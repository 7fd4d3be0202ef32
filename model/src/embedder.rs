//! Images → L2-normalised embedding vectors: preprocessing, a [`Network`] and per-thread
//! workspaces, shareable across threads.

use std::sync::Mutex;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_kernels::parallel::{MAX_THREADS, ThreadPool};

use crate::error::{Error, Result};
use crate::network::{Network, Output, Workspace};
use crate::preprocess::{ImageView, Preprocess, Scratch};
use crate::weights::Weights;

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
    tensor: Vec<f32>,
    scratch: Scratch,
    result: Vec<f32>,
}

/// A network plus preprocessing. `Send + Sync`: `embed` may be called from many threads at
/// once; each concurrent call uses its own workspace from an internal pool (allocated on first
/// use, then reused, so steady-state calls do not allocate in the network).
pub struct Embedder {
    net: Network,
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
        let threads = cores(opts.threads).min(MAX_THREADS);
        let batch_pool = if threads > 1 {
            Some(ThreadPool::new(threads).map_err(|e| {
                Error::Unsupported(format!("cannot start {threads} worker threads: {e}"))
            })?)
        } else {
            None
        };
        Ok(Embedder {
            net,
            opts,
            dim,
            sessions: Mutex::new(Vec::new()),
            batch_pool,
        })
    }

    /// The default pretrained model (MobileNetV2, ImageNet features; see
    /// [`crate::pretrained`]) with the best kernels for this CPU.
    pub fn pretrained(opts: EmbedderOptions) -> Result<Self> {
        let w = crate::pretrained::load_default()?;
        Self::new(Network::from_metadata(&w, KernelTable::best())?, opts)
    }

    /// A model from weights whose metadata names the architecture.
    pub fn from_weights(weights: &Weights, opts: EmbedderOptions) -> Result<Self> {
        Self::new(Network::from_metadata(weights, KernelTable::best())?, opts)
    }

    /// Values per embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
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
            self.net
                .forward(shape, &s.tensor, self.opts.output, &mut s.result, &mut s.ws)?;
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
            self.net
                .forward(shape, data, self.opts.output, &mut s.result, &mut s.ws)?;
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
