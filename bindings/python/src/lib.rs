//! `ruvector_cnn._native`: the Python extension module over [`ruvector_cnn_model::Embedder`].
//!
//! A thin layer: options become an [`EmbedderConfig`], numpy `uint8` images become
//! [`ImageView`]s over the array's own memory (no copy when it is C-contiguous), and vectors
//! are written straight into the numpy array returned. Embedding runs with the GIL released.
//! The Python package (`python/ruvector_cnn`) adds PIL support on top.

use numpy::{
    PyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use ruvector_cnn_model::{Embedder, EmbedderConfig, Error, ImageView, PixelFormat, Weights};

/// A model error as the Python exception a caller would expect.
fn py_err(e: Error) -> PyErr {
    match e {
        Error::Io { .. } => PyOSError::new_err(e.to_string()),
        Error::Unsupported(_) => PyRuntimeError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// The pixel layout of a `uint8` array shaped `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or
/// `(H, W, 4)`: gray, gray, RGB, RGBA.
fn layout(shape: &[usize]) -> PyResult<(usize, usize, PixelFormat)> {
    let format = match shape {
        [_, _] | [_, _, 1] => PixelFormat::Gray8,
        [_, _, 3] => PixelFormat::Rgb8,
        [_, _, 4] => PixelFormat::Rgba8,
        _ => {
            return Err(PyValueError::new_err(format!(
                "expected a uint8 image shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got \
                 shape {shape:?}"
            )));
        }
    };
    Ok((shape[1], shape[0], format))
}

/// A C-contiguous `uint8` array: borrowed as is, or copied once when it is not contiguous.
enum Pixels<'py> {
    Borrowed(PyReadonlyArrayDyn<'py, u8>),
    Copied(Vec<u8>),
}

impl<'py> Pixels<'py> {
    fn new(a: PyReadonlyArrayDyn<'py, u8>) -> Self {
        if a.is_c_contiguous() {
            Pixels::Borrowed(a)
        } else {
            Pixels::Copied(a.as_array().iter().copied().collect())
        }
    }

    fn view(&self, shape: &[usize]) -> PyResult<ImageView<'_>> {
        let data = match self {
            Pixels::Borrowed(a) => a
                .as_slice()
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
            Pixels::Copied(v) => v,
        };
        let (w, h, format) = layout(shape)?;
        ImageView::packed(data, w, h, format).map_err(py_err)
    }
}

/// Runs `write` on the new array `out`'s memory with the GIL released.
fn fill<D: numpy::ndarray::Dimension>(
    py: Python<'_>,
    out: &Bound<'_, PyArray<f32, D>>,
    write: impl FnOnce(&mut [f32]) -> ruvector_cnn_model::Result<()> + Send,
) -> PyResult<()> {
    let mut rw = out.readwrite();
    let slice = rw
        .as_slice_mut()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.detach(|| write(slice)).map_err(py_err)
}

/// Images → L2-normalised embedding vectors (see the Python package's `Embedder`).
#[pyclass(frozen, name = "Embedder", module = "ruvector_cnn._native")]
struct PyEmbedder {
    inner: Embedder,
}

#[pymethods]
impl PyEmbedder {
    /// Loads the model: `weights` is a path to a .safetensors file (torchvision keys, or a
    /// quantized model from `rvcnn quantize`) or its bytes; without it, the cached pretrained
    /// MobileNetV2 (`rvcnn fetch`).
    #[new]
    #[pyo3(signature = (model=None, weights=None, weights_bytes=None, input_size=None,
                        normalize=None, threads=None, output=None, fit=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: Option<String>,
        weights: Option<std::path::PathBuf>,
        weights_bytes: Option<&[u8]>,
        input_size: Option<usize>,
        normalize: Option<bool>,
        threads: Option<usize>,
        output: Option<String>,
        fit: Option<String>,
    ) -> PyResult<Self> {
        let weights = match (weights, weights_bytes) {
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "pass weights (a path) or weights_bytes, not both",
                ));
            }
            (Some(path), None) => Some(Weights::load(&path).map_err(py_err)?),
            (None, Some(bytes)) => Some(Weights::from_safetensors(bytes).map_err(py_err)?),
            (None, None) => None,
        };
        let config = EmbedderConfig {
            model,
            weights,
            input_size,
            normalize,
            threads,
            output,
            fit,
        };
        let inner = py.detach(|| config.build()).map_err(py_err)?;
        Ok(PyEmbedder { inner })
    }

    /// Values per embedding.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// `"f32"` or `"int8"`.
    #[getter]
    fn precision(&self) -> &'static str {
        self.inner.precision()
    }

    /// The architecture (`mobilenetv2`, `mobilenetv3-small`, `mobilenetv3-large`).
    #[getter]
    fn model(&self) -> String {
        self.inner.arch().to_string()
    }

    /// Embeds one `uint8` image array; returns a float32 vector of `dim` values.
    fn embed<'py>(
        &self,
        py: Python<'py>,
        image: PyReadonlyArrayDyn<'py, u8>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let shape = image.shape().to_vec();
        let pixels = Pixels::new(image);
        let view = pixels.view(&shape)?;
        let out = PyArray1::<f32>::zeros(py, self.inner.dim(), false);
        fill(py, &out, |slice| self.inner.embed_into(&view, slice))?;
        Ok(out)
    }

    /// Embeds a sequence of `uint8` image arrays (any sizes) on the embedder's threads;
    /// returns a float32 array of shape `(len(images), dim)`.
    fn embed_batch<'py>(
        &self,
        py: Python<'py>,
        images: Vec<PyReadonlyArrayDyn<'py, u8>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let shapes: Vec<Vec<usize>> = images.iter().map(|a| a.shape().to_vec()).collect();
        let pixels: Vec<Pixels<'py>> = images.into_iter().map(Pixels::new).collect();
        let views = pixels
            .iter()
            .zip(&shapes)
            .map(|(p, s)| p.view(s))
            .collect::<PyResult<Vec<_>>>()?;
        let out = PyArray2::<f32>::zeros(py, [views.len(), self.inner.dim()], false);
        fill(py, &out, |slice| self.inner.embed_batch_into(&views, slice))?;
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "Embedder(model={:?}, dim={}, precision={:?})",
            self.inner.arch().to_string(),
            self.inner.dim(),
            self.inner.precision()
        )
    }
}

/// The native module: `Embedder` and the crate version.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEmbedder>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
