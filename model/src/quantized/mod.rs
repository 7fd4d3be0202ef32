//! INT8 inference: calibration of activation ranges on sample images and the quantized
//! network built from f32 weights and those ranges.

pub mod calibrate;
pub mod network;
pub mod report;
pub mod simulate;

pub use calibrate::{RangeMethod, Ranges, calibrate};
pub use network::{QuantNetwork, QuantWorkspace};
pub use report::{LayerError, layer_errors};

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::Nhwc;

use crate::error::Result;
use crate::network::{Network, Workspace};
use crate::preprocess::{ImageView, Preprocess, Scratch};
use crate::weights::Weights;

/// Preprocesses `images` into NHWC tensors (one per image, `p.size`×`p.size`×3).
pub fn preprocess_all(images: &[ImageView<'_>], p: &Preprocess) -> Result<Vec<Vec<f32>>> {
    let mut scratch = Scratch::default();
    images
        .iter()
        .map(|img| {
            let mut t = vec![0.0; p.tensor_len()];
            p.run(img, &mut t, &mut scratch).map(|()| t)
        })
        .collect()
}

/// Metadata key of the activation ranges in a quantized model file.
pub const RANGES_KEY: &str = "int8_ranges";
/// Metadata key of the convolutions a quantized model file runs in f32 (comma-separated).
pub const F32_LAYERS_KEY: &str = "int8_f32_layers";

/// Marks `weights` (the f32 weights `q` was built from) as a quantized model: its ranges and
/// f32 layers go into the metadata, so [`from_weights`] rebuilds `q` without calibration.
/// The file stays f32 (weight scales are derived from it deterministically at load).
pub fn save_into(q: &QuantNetwork, weights: &mut Weights) {
    weights.set_metadata(RANGES_KEY, &q.ranges().to_text());
    weights.set_metadata(F32_LAYERS_KEY, &q.f32_layers().join(","));
}

/// The INT8 network a quantized model file describes ([`save_into`]), or `None` for a plain
/// f32 file. The architecture comes from the `arch` / `width_mult` metadata.
pub fn from_weights(weights: &Weights, table: &KernelTable) -> Result<Option<QuantNetwork>> {
    let Some(text) = weights.metadata(RANGES_KEY) else {
        return Ok(None);
    };
    let ranges = Ranges::from_text(text)?;
    let f32_layers: Vec<String> = weights
        .metadata(F32_LAYERS_KEY)
        .unwrap_or_default()
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let net = Network::from_metadata(weights, table)?;
    QuantNetwork::new(
        net.arch(),
        net.width_mult(),
        weights,
        &ranges,
        &f32_layers,
        table,
    )
    .map(Some)
}

/// A convolution whose INT8 output error jumps above this (relative RMS against f32) while
/// its input's error is at most a quarter of it runs in f32 instead (see [`quantize_network`]).
pub const FALLBACK_ERROR: f64 = 0.25;

/// Fallback layers chosen at most.
const MAX_FALLBACKS: usize = 8;

/// Calibrates `net` (built from `weights`) on preprocessed `tensors` of size `size`×`size`
/// with `method`, then builds its INT8 network with the convolutions and blocks named in
/// `f32_layers` (see [`QuantNetwork::new`]; `features.15+` runs that block and everything
/// after it in f32) plus those chosen below in f32.
///
/// Some BatchNorm-folded channels cannot be represented with 8-bit weights: a channel whose
/// conv output is nearly constant and then strongly amplified (a tiny running variance) needs
/// far more weight precision than 8 bits give, and its INT8 output is noise. So the layers are
/// checked on the calibration images in network order ([`layer_errors`]): the first
/// convolution whose relative error exceeds [`FALLBACK_ERROR`] and at least four times its
/// input's runs in f32 between quantized activations, and the check repeats (up to 8 such
/// layers). A layer that stays that bad in f32 amplifies the quantization error of its input
/// (MobileNetV2's `features.2.expand` turns 1% into 45%); when it lies in the first quarter
/// of the blocks, its block and all before it become the f32 head (nothing is quantized
/// before the head's output). `QuantNetwork::f32_layers` lists the layers and the head's last
/// block.
pub fn quantize_network(
    net: &Network,
    weights: &Weights,
    tensors: &[Vec<f32>],
    size: usize,
    method: RangeMethod,
    f32_layers: &[String],
    table: &KernelTable,
) -> Result<QuantNetwork> {
    let shape = Nhwc::new(1, size, size, 3);
    // Layer names are checked on one pass over the first image, before calibration runs.
    if !f32_layers.is_empty()
        && let Some(first) = tensors.first()
    {
        let mut names = std::collections::BTreeSet::new();
        net.observe(shape, first, &mut Workspace::default(), &mut |n, _, _| {
            names.insert(n.to_string());
        })?;
        network::check_f32_layers(f32_layers, |n| names.contains(n))?;
    }
    let ranges = calibrate(net, shape, tensors, method)?;
    let build = |f32_layers: &[String]| {
        QuantNetwork::new(
            net.arch(),
            net.width_mult(),
            weights,
            &ranges,
            f32_layers,
            table,
        )
    };
    let mut f32_layers = f32_layers.to_vec();
    let forced = f32_layers.len();
    loop {
        let q = build(&f32_layers)?;
        if f32_layers.len() >= forced + MAX_FALLBACKS {
            return Ok(q);
        }
        let errors = layer_errors(net, &q, shape, tensors)?;
        // Activations a convolution produces (with squeeze-excitation, `.dw` is its gate's
        // output and the depthwise conv produces `.se_in`).
        let has_se = |n: &str| {
            let block = n.strip_suffix(".dw").unwrap_or(n);
            errors.iter().any(|e| e.name == format!("{block}.se_in"))
        };
        let conv = |n: &str| {
            n.ends_with(".expand")
                || n.ends_with(".se_in")
                || (n.ends_with(".dw") && !has_se(n))
                || n.ends_with(".project")
                || n == "last"
        };
        let jumps = |w: &&[LayerError]| {
            conv(&w[1].name)
                && w[1].relative_rms > FALLBACK_ERROR
                && w[1].relative_rms > 4.0 * w[0].relative_rms
        };
        let culprit = errors
            .windows(2)
            .filter(jumps)
            .find(|w| !f32_layers.contains(&w[1].name));
        if let Some(w) = culprit {
            f32_layers.push(w[1].name.clone());
            continue;
        }
        // A layer still that bad in f32 amplifies its input's quantization error: if it is
        // early, run its block and every block before it in f32.
        let blocks: Vec<&str> = errors
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| n.starts_with("features.") && n.matches('.').count() == 1)
            .collect();
        let head = errors.windows(2).filter(jumps).find_map(|w| {
            let block = w[1].name.rsplit_once('.').map_or("", |(b, _)| b);
            let at = blocks.iter().position(|b| *b == block)?;
            (at < blocks.len() / 4 && !f32_layers.iter().any(|l| l == block))
                .then(|| block.to_string())
        });
        match head {
            Some(block) => f32_layers.push(block),
            None => return Ok(q),
        }
    }
}
