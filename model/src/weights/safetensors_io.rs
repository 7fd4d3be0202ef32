//! safetensors reading (F32/F16/BF16 → f32) and writing (F32).

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::Weights;
use super::half::{bf16_to_f32, f16_to_f32};
use crate::error::{Error, Result};

/// Converts one little-endian element to f32.
type Convert = fn(&[u8]) -> f32;

/// Element converters by dtype: bytes per element and the conversion of one element.
fn converter(dtype: Dtype) -> Option<(usize, Convert)> {
    match dtype {
        Dtype::F32 => Some((4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        Dtype::F16 => Some((2, |b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))),
        Dtype::BF16 => Some((2, |b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))),
        _ => None,
    }
}

pub(super) fn parse(bytes: &[u8]) -> Result<Weights> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Format(format!("not a valid safetensors file: {e}")))?;
    let mut weights = Weights::new();
    for (key, view) in file.iter() {
        let dtype = view.dtype();
        let Some((size, convert)) = converter(dtype) else {
            if key.ends_with("num_batches_tracked") {
                continue; // BatchNorm's training-step counter: not a parameter.
            }
            return Err(Error::Dtype {
                key: key.to_string(),
                dtype: format!("{dtype:?}"),
            });
        };
        let data = view.data().chunks_exact(size).map(convert).collect();
        weights.insert(key, view.shape().to_vec(), data)?;
    }
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::Format(format!("not a valid safetensors file: {e}")))?;
    for (k, v) in header.metadata().iter().flatten() {
        weights.set_metadata(k, v);
    }
    Ok(weights)
}

pub(super) fn serialize(weights: &Weights) -> Result<Vec<u8>> {
    let bytes: Vec<(&str, &[usize], Vec<u8>)> = weights
        .iter()
        .map(|(k, t)| {
            let b = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.as_str(), t.shape.as_slice(), b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(k, shape, b)| Ok((*k, TensorView::new(Dtype::F32, shape.to_vec(), b)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| Error::Format(format!("cannot serialise: {e}")))?;
    let metadata = weights.metadata_entries();
    let meta = (!metadata.is_empty()).then(|| metadata.clone().into_iter().collect());
    safetensors::tensor::serialize(views, meta)
        .map_err(|e| Error::Format(format!("cannot serialise: {e}")))
}
