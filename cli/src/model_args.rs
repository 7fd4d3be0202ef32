//! The model options shared by `embed`, `search`, `eval` and `info`.

use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};
use ruvector_cnn_kernels::{Isa, IsaSet, KernelTable};
use ruvector_cnn_model::contrastive::ProjectionHead;
use ruvector_cnn_model::quantized::{self, RangeMethod};
use ruvector_cnn_model::{
    Arch, Embedder, EmbedderOptions, Fit, Network, Output, Preprocess, Weights, pretrained,
};

use crate::{CliResult, files};

/// Which network output is the embedding.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputArg {
    /// Global-average-pooled features.
    Pooled,
    /// Input of the last classifier layer.
    Penultimate,
    /// Class scores.
    Logits,
}

/// How images are fitted to the square input.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FitArg {
    /// Shorter side to size/0.875, centred crop (torchvision ImageNet eval).
    CenterCrop,
    /// Longer side to size, padded.
    Letterbox,
    /// Both axes to size.
    Stretch,
}

/// Model selection and embedding options.
#[derive(ClapArgs, Clone, Debug)]
pub struct ModelArgs {
    /// Architecture: mobilenetv2 (default; pretrained), mobilenetv3-small, mobilenetv3-large.
    /// With --weights, defaults to the architecture named in the file's metadata.
    #[arg(long)]
    pub model: Option<String>,
    /// A .safetensors file with torchvision state_dict keys.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Width multiplier of the architecture (with --weights lacking metadata, or --random-init).
    #[arg(long)]
    pub width: Option<f32>,
    /// Use torchvision-style random weights (a baseline), from this seed.
    #[arg(long, value_name = "SEED", conflicts_with = "weights")]
    pub random_init: Option<u64>,
    /// Which output is the embedding.
    #[arg(long, value_enum, default_value = "pooled")]
    pub output: OutputArg,
    /// Network input size (square).
    #[arg(long, default_value_t = 224)]
    pub size: usize,
    /// How images are fitted to the input.
    #[arg(long, value_enum, default_value = "center-crop")]
    pub fit: FitArg,
    /// Colour transparent pixels are composited over, as R,G,B (0-255).
    #[arg(long, value_name = "R,G,B", default_value = "255,255,255", value_parser = parse_rgb)]
    pub background: [u8; 3],
    /// Do not L2-normalise the vectors.
    #[arg(long)]
    pub no_normalize: bool,
    /// Worker threads, each embedding whole images (0 = all cores).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Cores each image's convolutions are split over (0 = all cores): lower latency per
    /// image; for many images prefer --threads.
    #[arg(long, default_value_t = 1)]
    pub image_threads: usize,
    /// Highest instruction set to use (scalar, avx2fma, avxvnni, avx512f, avx512vnni);
    /// default: the best detected.
    #[arg(long)]
    pub isa: Option<String>,
    /// Run the model in INT8 (MobileNetV2/V3): convolutions on 8-bit activations and weights,
    /// activation ranges calibrated on --calib images.
    #[arg(long)]
    pub int8: bool,
    /// Calibration images (files or folders) for --int8 (up to 64 are used); `embed` and
    /// `eval` default to the images being processed, `search` and `info` need it (use the
    /// same images the index was built with).
    #[arg(long, value_name = "PATH", requires = "int8")]
    pub calib: Vec<PathBuf>,
    /// How --int8 picks activation ranges: `mse` (least expected squared error), `minmax`,
    /// or `percentile[:P]` (P in (50, 100]).
    #[arg(long, value_name = "METHOD", default_value = "mse")]
    pub calib_method: String,
    /// INT8: convolutions or blocks to keep in f32 (comma-separated activation names as
    /// `rvcnn quantize --report` prints them: `features.3.project`, `last`; a block name runs
    /// it and every block before it in f32; `features.15+` runs that block and everything
    /// after it in f32 — more accurate, slower).
    #[arg(long = "f32-layers", value_name = "NAMES", value_delimiter = ',')]
    pub f32_layers: Vec<String>,
    /// A projection head trained by `rvcnn train`, applied to the embeddings (whose
    /// dimension must be its input width); its outputs are the vectors (L2-normalised unless
    /// --no-normalize).
    #[arg(long, value_name = "FILE")]
    pub head: Option<PathBuf>,
}

/// Calibration images used at most (the first ones, in path order).
pub const MAX_CALIBRATION: usize = 64;

/// Decodes up to [`MAX_CALIBRATION`] of `paths` (unreadable files are skipped).
pub fn calibration_views(paths: &[PathBuf]) -> CliResult<Vec<files::Decoded>> {
    let decoded: Vec<files::Decoded> = paths
        .iter()
        .filter_map(|p| files::decode(p).ok())
        .take(MAX_CALIBRATION)
        .collect();
    if decoded.is_empty() {
        return Err("INT8 calibration needs readable images: pass --calib DIR".into());
    }
    Ok(decoded)
}

/// Tells the user when the INT8 kernels in `table` lack a dot-product instruction (AVX-512
/// VNNI, AVX-VNNI, NEON dotprod): there INT8 runs at f32 speed or slower (AVX2 Zen 3:
/// MobileNetV3-Large 8.7 ms INT8 vs 6.2 ms f32), so it only saves memory.
fn note_int8_speed(table: &KernelTable) {
    if table.isa_set().iter().all(|i| i.has_f32_kernels()) {
        eprintln!(
            "rvcnn: note: no INT8 dot-product instructions (VNNI / NEON dotprod) at ISA {}: \
             INT8 runs about as fast as f32 or slower here",
            table.isa_set().top().name()
        );
    }
}

impl ModelArgs {
    /// The kernel table for `--isa` (or the best one).
    pub fn table(&self) -> CliResult<KernelTable> {
        let detected = ruvector_cnn_kernels::isa::available();
        Ok(match &self.isa {
            None => KernelTable::with_isa(detected),
            Some(name) => {
                let isa = Isa::from_name(name).ok_or_else(|| {
                    let known: Vec<&str> = Isa::ALL.iter().map(|i| i.name()).collect();
                    format!("unknown ISA `{name}` (known: {})", known.join(", "))
                })?;
                if !detected.contains(isa) {
                    return Err(format!("this CPU does not support {isa}"));
                }
                KernelTable::with_isa(IsaSet::up_to(isa).intersect(detected))
            }
        })
    }

    /// The embedding options.
    pub fn options(&self) -> EmbedderOptions {
        EmbedderOptions {
            output: match self.output {
                OutputArg::Pooled => Output::Pooled,
                OutputArg::Penultimate => Output::Penultimate,
                OutputArg::Logits => Output::Logits,
            },
            l2_normalize: !self.no_normalize,
            preprocess: Preprocess {
                size: self.size,
                fit: match self.fit {
                    FitArg::CenterCrop => Fit::CenterCrop,
                    FitArg::Letterbox => Fit::Letterbox,
                    FitArg::Stretch => Fit::Stretch,
                },
                background: self.background,
                ..Preprocess::default()
            },
            threads: self.threads,
            image_threads: self.image_threads,
        }
    }

    /// The weights these arguments select.
    pub fn weights(&self) -> CliResult<Weights> {
        let arch: Option<Arch> = self
            .model
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: ruvector_cnn_model::Error| e.to_string())?;
        if let Some(seed) = self.random_init {
            let arch = arch.unwrap_or(pretrained::ARCH);
            return Weights::random(arch, self.width.unwrap_or(1.0), None, seed)
                .map_err(|e| e.to_string());
        }
        let mut w = match &self.weights {
            Some(path) => Some(Weights::load(path).map_err(|e| e.to_string())?),
            None => None,
        };
        if let (Some(w), Some(width)) = (w.as_mut(), self.width) {
            w.set_metadata("width_mult", &width.to_string());
        }
        pretrained::select(arch, w).map_err(|e| match self.weights {
            None if arch.is_some_and(|a| a != pretrained::ARCH) => {
                format!("{e}: pass --weights FILE.safetensors or --random-init SEED")
            }
            _ => e.to_string(),
        })
    }

    /// A label for the model (for outputs and logs).
    pub fn label(&self, e: &Embedder) -> String {
        let source = match (&self.weights, self.random_init) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(seed)) => format!("random-init:{seed}"),
            (None, None) => "pretrained".into(),
        };
        let int8 = if e.precision() == "int8" { "/int8" } else { "" };
        let head = self
            .head
            .as_ref()
            .map(|h| format!("+head:{}", h.display()))
            .unwrap_or_default();
        format!("{}@{}{int8}:{source}{head}", e.arch(), e.width_mult())
    }

    /// The `--head` projection, if given, checked against the embedder's dimension.
    pub fn head(&self, e: &Embedder) -> CliResult<Option<ProjectionHead>> {
        let Some(path) = &self.head else {
            return Ok(None);
        };
        let w = Weights::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let head =
            ProjectionHead::from_weights(&w).map_err(|e| format!("{}: {e}", path.display()))?;
        if head.input_dim() != e.dim() {
            return Err(format!(
                "{}: the head takes {}-d embeddings, this model makes {}-d ones",
                path.display(),
                head.input_dim(),
                e.dim()
            ));
        }
        Ok(Some(head))
    }

    /// The vectors `embed` and `eval` report: `vectors` through the `--head` projection when
    /// given (re-normalised unless --no-normalize), else unchanged.
    pub fn project(&self, e: &Embedder, vectors: Vec<Vec<f32>>) -> CliResult<Vec<Vec<f32>>> {
        let Some(mut head) = self.head(e)? else {
            return Ok(vectors);
        };
        let (d, o) = (head.input_dim(), head.output_dim());
        let mut out = Vec::with_capacity(vectors.len());
        for chunk in vectors.chunks(1024) {
            let x: Vec<f32> = chunk.iter().flatten().copied().collect();
            let y = head.forward(&x, chunk.len()).map_err(|e| e.to_string())?;
            for row in y.chunks_exact(o) {
                let mut v = row.to_vec();
                let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
                if !self.no_normalize && norm > 0.0 {
                    v.iter_mut().for_each(|a| *a /= norm);
                }
                out.push(v);
            }
        }
        debug_assert!(out.iter().all(|v| v.len() == o) && d > 0);
        Ok(out)
    }

    /// The embedder these arguments select: INT8 with --int8 (calibrated on --calib, or else
    /// on the first of `inputs`) or when the weights file holds calibrated ranges
    /// (`rvcnn quantize --out`), else f32.
    pub fn embedder(&self, inputs: &[PathBuf]) -> CliResult<Embedder> {
        self.embedder_from(&self.weights()?, inputs)
    }

    /// [`Self::embedder`] for weights already loaded (`self.weights()`).
    pub fn embedder_from(&self, w: &Weights, inputs: &[PathBuf]) -> CliResult<Embedder> {
        let table = self.table()?;
        if !self.int8 && w.metadata(quantized::RANGES_KEY).is_none() {
            let net = Network::from_metadata(w, &table).map_err(|e| e.to_string())?;
            return Embedder::new(net, self.options()).map_err(|e| e.to_string());
        }
        note_int8_speed(&table);
        if let Some(q) = quantized::from_weights(w, &table).map_err(|e| e.to_string())? {
            return Embedder::new_quantized(q, self.options()).map_err(|e| e.to_string());
        }
        let method = RangeMethod::parse(&self.calib_method).map_err(|e| e.to_string())?;
        let paths = if self.calib.is_empty() {
            inputs.to_vec()
        } else {
            files::collect(&self.calib)?
        };
        let decoded = calibration_views(&paths)?;
        let views = decoded
            .iter()
            .map(files::Decoded::view)
            .collect::<CliResult<Vec<_>>>()?;
        eprintln!(
            "rvcnn: calibrating INT8 ranges on {} images ({method:?})",
            views.len()
        );
        Embedder::quantize(w, &views, method, &self.f32_layers, self.options(), &table)
            .map_err(|e| e.to_string())
    }
}

/// Parses `R,G,B` with components 0..=255.
fn parse_rgb(s: &str) -> Result<[u8; 3], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [r, g, b] = parts[..] else {
        return Err(format!("`{s}`: expected R,G,B"));
    };
    let c = |v: &str| {
        v.parse::<u8>()
            .map_err(|_| format!("`{v}` is not in 0..=255"))
    };
    Ok([c(r)?, c(g)?, c(b)?])
}
