"""CPU CNN image embeddings from ruvector-cnn (MobileNetV2/V3 on generated SIMD kernels).

    >>> import numpy as np, ruvector_cnn
    >>> emb = ruvector_cnn.Embedder()            # pretrained MobileNetV2 (run `rvcnn fetch` once)
    >>> v = emb.embed(np.zeros((240, 320, 3), np.uint8))
    >>> v.shape, v.dtype
    ((1280,), dtype('float32'))

Images are ``uint8`` numpy arrays shaped (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA,
or PIL images (converted to RGB/RGBA/L). C-contiguous arrays are read in place; embedding
releases the GIL, so several Python threads can share one Embedder.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Union
import os

import numpy as np

from . import _native

__all__ = ["Embedder", "cosine_similarity", "__version__"]
__version__ = _native.__version__

_PIL_MODES = {"RGB": "RGB", "RGBA": "RGBA", "L": "L", "LA": "RGBA", "P": "RGBA", "1": "L"}


def _as_array(image: Any) -> np.ndarray:
    """A uint8 array for a numpy array or a PIL image (anything with ``mode`` and ``convert``)."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise TypeError(f"images must be uint8 arrays, got dtype {image.dtype}")
        return image
    mode = getattr(image, "mode", None)
    if mode is not None and hasattr(image, "convert"):
        target = _PIL_MODES.get(mode, "RGB")
        if target != mode:
            image = image.convert(target)
        return np.asarray(image)
    raise TypeError(f"expected a numpy uint8 array or a PIL image, got {type(image).__name__}")


class Embedder:
    """Images to embedding vectors (L2-normalised unless ``normalize=False``).

    model: ``"mobilenetv2"`` (default, the pretrained ImageNet model), ``"mobilenetv3-small"``
        or ``"mobilenetv3-large"`` (these need ``weights``).
    weights: path to a .safetensors file (torchvision keys, or a quantized model written by
        ``rvcnn quantize``), or its contents as ``bytes``; default: the cached pretrained
        weights (``rvcnn fetch``).
    input_size: square network input (default 224); images are resized and centre-cropped
        (``fit="center-crop"``), or ``"letterbox"`` / ``"stretch"``.
    output: ``"pooled"`` (default), ``"penultimate"`` or ``"logits"``.
    threads: threads a batch is spread over (default 1, 0 = all cores).
    """

    def __init__(
        self,
        model: Optional[str] = None,
        weights: Union[str, os.PathLike, bytes, None] = None,
        input_size: int = 224,
        normalize: bool = True,
        threads: int = 1,
        output: str = "pooled",
        fit: str = "center-crop",
    ) -> None:
        path, data = (None, bytes(weights)) if isinstance(weights, (bytes, bytearray)) else (weights, None)
        self._native = _native.Embedder(
            model=model,
            weights=None if path is None else os.fspath(path),
            weights_bytes=data,
            input_size=input_size,
            normalize=normalize,
            threads=threads,
            output=output,
            fit=fit,
        )

    @property
    def dim(self) -> int:
        """Values per embedding."""
        return self._native.dim

    @property
    def precision(self) -> str:
        """``"f32"`` or ``"int8"`` (a quantized weights file)."""
        return self._native.precision

    @property
    def model(self) -> str:
        """The architecture name."""
        return self._native.model

    def embed(self, image: Any) -> np.ndarray:
        """One image → a float32 vector of ``dim`` values."""
        return self._native.embed(_as_array(image))

    def embed_batch(self, images: Iterable[Any]) -> np.ndarray:
        """Images of any sizes → a float32 array of shape ``(n, dim)``, spread over ``threads``."""
        return self._native.embed_batch([_as_array(i) for i in images])

    def __repr__(self) -> str:
        return repr(self._native)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two vectors."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    if denom == 0:
        raise ValueError("cosine similarity of a zero vector is undefined")
    return float(a @ b / denom)
