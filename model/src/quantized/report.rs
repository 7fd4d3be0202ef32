//! How far each INT8 activation is from the f32 network's: per-layer relative RMS error of
//! the dequantized activations, over sample images.

use std::collections::BTreeMap;

use ruvector_cnn_kernels::ops::Nhwc;

use super::network::{QuantNetwork, QuantWorkspace};
use crate::error::{Error, Result};
use crate::network::{Network, Workspace};

/// The error of one quantized activation.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerError {
    /// Activation name (see [`Network::observe`]).
    pub name: String,
    /// `‖dequantized − f32‖ / ‖f32‖` over all values of all images.
    pub relative_rms: f64,
    /// The quantization step (the scale) of the activation.
    pub scale: f32,
}

/// Compares every activation of `q` with `net`'s on `images` (preprocessed NHWC images of
/// `shape`, `shape.n == 1`), in network order.
pub fn layer_errors(
    net: &Network,
    q: &QuantNetwork,
    shape: Nhwc,
    images: &[Vec<f32>],
) -> Result<Vec<LayerError>> {
    let (mut ws, mut qws) = (Workspace::default(), QuantWorkspace::default());
    let mut order: Vec<String> = Vec::new();
    // Per activation: squared error, squared reference, scale.
    let mut sums: BTreeMap<String, (f64, f64, f32)> = BTreeMap::new();
    let mut reference: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut pooled = vec![0.0; q.dim()];
    for img in images {
        net.observe(shape, img, &mut ws, &mut |name, data, minus| {
            let v = reference.entry(name.to_string()).or_default();
            v.clear();
            match minus {
                Some(m) => v.extend(data.iter().zip(m).map(|(a, b)| a - b)),
                None => v.extend_from_slice(data),
            }
        })?;
        let mut failure = None;
        q.observe(shape, img, &mut pooled, &mut qws, &mut |name, bytes| {
            let Some(want) = reference.get(name) else {
                failure = Some(name.to_string());
                return;
            };
            let Ok(p) = q.ranges().params(name) else {
                failure = Some(name.to_string());
                return;
            };
            let (scale, zp) = (p.scale, f32::from(p.zero_point));
            let e = sums.entry(name.to_string()).or_insert_with(|| {
                order.push(name.to_string());
                (0.0, 0.0, scale)
            });
            for (&b, &w) in bytes.iter().zip(want) {
                let d = f64::from((f32::from(b) - zp) * scale - w);
                e.0 += d * d;
                e.1 += f64::from(w) * f64::from(w);
            }
        })?;
        if let Some(name) = failure {
            return Err(Error::InvalidArgument(format!(
                "activation `{name}` has no f32 counterpart or no range"
            )));
        }
    }
    Ok(order
        .into_iter()
        .map(|name| {
            let (err, norm, scale) = sums[&name];
            LayerError {
                relative_rms: (err / norm.max(f64::MIN_POSITIVE)).sqrt(),
                scale,
                name,
            }
        })
        .collect())
}
