//! Embedder settings by name, as language bindings receive them (JavaScript option objects,
//! Python keyword arguments): every binding turns its values into an [`EmbedderConfig`] and
//! calls [`EmbedderConfig::build`], so they all accept the same names, defaults and errors.

use std::str::FromStr;

use crate::arch::Arch;
use crate::embedder::{Embedder, EmbedderOptions};
use crate::error::{Error, Result};
use crate::network::Output;
use crate::preprocess::{Fit, PixelFormat};
use crate::pretrained;
use crate::weights::Weights;

/// Named embedder settings; `None` means the default.
#[derive(Default)]
pub struct EmbedderConfig {
    /// `mobilenetv2` (default), `mobilenetv3-small` or `mobilenetv3-large` (torchvision names
    /// are accepted too). Without `weights` only the pretrained default is available.
    pub model: Option<String>,
    /// Weights (safetensors with torchvision keys, or a quantized model file); default: the
    /// cached pretrained MobileNetV2.
    pub weights: Option<Weights>,
    /// Square network input side (default 224).
    pub input_size: Option<usize>,
    /// L2-normalise the vectors (default true).
    pub normalize: Option<bool>,
    /// Threads a batch is spread over (default 1; 0 = all cores).
    pub threads: Option<usize>,
    /// `pooled` (default), `penultimate` or `logits`.
    pub output: Option<String>,
    /// `center-crop` (default), `letterbox` or `stretch`.
    pub fit: Option<String>,
}

impl EmbedderConfig {
    /// The embedder these settings describe (INT8 when the weights are a quantized model
    /// file), with the best kernels for this CPU.
    pub fn build(self) -> Result<Embedder> {
        let mut opts = EmbedderOptions::default();
        if let Some(size) = self.input_size {
            opts.preprocess.size = size;
        }
        if let Some(n) = self.normalize {
            opts.l2_normalize = n;
        }
        if let Some(t) = self.threads {
            opts.threads = t;
        }
        if let Some(o) = &self.output {
            opts.output = o.parse()?;
        }
        if let Some(f) = &self.fit {
            opts.preprocess.fit = f.parse()?;
        }
        let arch: Option<Arch> = self.model.as_deref().map(str::parse).transpose()?;
        Embedder::from_weights(&pretrained::select(arch, self.weights)?, opts)
    }
}

/// Parses `s` as one of `names` (the value's name first), or says which names are known.
fn by_name<T: Copy>(what: &str, s: &str, names: &[(&str, T)]) -> Result<T> {
    names
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            Error::InvalidArgument(format!(
                "unknown {what} `{s}` (known: {})",
                known.join(", ")
            ))
        })
}

impl FromStr for Output {
    type Err = Error;

    /// `pooled`, `penultimate` or `logits`.
    fn from_str(s: &str) -> Result<Self> {
        let names = Output::ALL.map(|o| (o.name(), o));
        by_name("output", s, &names)
    }
}

impl FromStr for Fit {
    type Err = Error;

    /// `center-crop`, `letterbox` or `stretch`.
    fn from_str(s: &str) -> Result<Self> {
        by_name(
            "fit",
            s,
            &[
                ("center-crop", Fit::CenterCrop),
                ("letterbox", Fit::Letterbox),
                ("stretch", Fit::Stretch),
            ],
        )
    }
}

impl FromStr for PixelFormat {
    type Err = Error;

    /// `rgb`, `rgba`, `gray`, `bgr` or `bgra`.
    fn from_str(s: &str) -> Result<Self> {
        by_name(
            "pixel format",
            s,
            &[
                ("rgb", PixelFormat::Rgb8),
                ("rgba", PixelFormat::Rgba8),
                ("gray", PixelFormat::Gray8),
                ("bgr", PixelFormat::Bgr8),
                ("bgra", PixelFormat::Bgra8),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_list_the_known() {
        assert_eq!(
            "Penultimate".parse::<Output>().unwrap(),
            Output::Penultimate
        );
        assert_eq!("letterbox".parse::<Fit>().unwrap(), Fit::Letterbox);
        assert_eq!("bgra".parse::<PixelFormat>().unwrap(), PixelFormat::Bgra8);
        let e = "rgb565".parse::<PixelFormat>().unwrap_err().to_string();
        assert!(e.contains("rgb565") && e.contains("rgba, gray"), "{e}");
        let e = "mean".parse::<Output>().unwrap_err().to_string();
        assert!(e.contains("pooled, penultimate, logits"), "{e}");
    }

    #[test]
    fn config_errors_name_the_bad_setting() {
        let w = Weights::random(Arch::MobileNetV3Small, 0.25, None, 1).unwrap();
        let bad_fit = EmbedderConfig {
            weights: Some(w),
            fit: Some("zoom".into()),
            ..Default::default()
        };
        let e = bad_fit.build().err().unwrap().to_string();
        assert!(e.contains("unknown fit `zoom`"), "{e}");
        let no_weights = EmbedderConfig {
            model: Some("mobilenetv3-large".into()),
            ..Default::default()
        };
        let e = no_weights.build().err().unwrap().to_string();
        assert!(e.contains("no pretrained"), "{e}");
    }

    #[test]
    fn config_builds_with_the_named_settings() {
        let w = Weights::random(Arch::MobileNetV3Small, 0.25, Some(10), 1).unwrap();
        let e = EmbedderConfig {
            model: Some("mobilenet_v3_small".into()),
            weights: Some(w),
            input_size: Some(64),
            normalize: Some(false),
            output: Some("penultimate".into()),
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(e.options().preprocess.size, 64);
        assert!(!e.options().l2_normalize);
        assert_eq!(e.options().output, Output::Penultimate);
    }
}
