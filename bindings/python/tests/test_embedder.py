"""The Python binding against the Rust CLI's vectors, plus its input handling and errors.

Run by tools/bindings_test.sh, which builds the module into a venv and writes the CLI's
reference vectors (RVCNN_REF_DIR: default.jsonl for the pretrained model on bindings/testdata,
v3small.jsonl for the MobileNetV3-Small fixture weights).
"""

import json
import os
import pathlib
import threading

import numpy as np
import pytest
from PIL import Image

import ruvector_cnn

ROOT = pathlib.Path(__file__).resolve().parents[3]
IMAGES = ROOT / "bindings" / "testdata"  # lossless: every decoder sees the same pixels
V3_SMALL = ROOT / "model" / "tests" / "fixtures" / "mobilenet_v3_small.safetensors"
REF = pathlib.Path(os.environ.get("RVCNN_REF_DIR", ROOT / "target" / "bindings-ref"))


def reference(name):
    """path name -> CLI vector."""
    out = {}
    for line in (REF / name).read_text().splitlines():
        rec = json.loads(line)
        out[pathlib.Path(rec["path"]).name] = np.array(rec["embedding"], dtype=np.float32)
    assert out, f"{REF / name} holds no vectors"
    return out


def image_files():
    files = sorted(IMAGES.glob("*.png"))
    assert len(files) == 4
    return files


@pytest.fixture(scope="module")
def default():
    return ruvector_cnn.Embedder()


def test_default_model_matches_the_cli(default):
    ref = reference("default.jsonl")
    assert default.dim == 1280 and default.model == "mobilenetv2" and default.precision == "f32"
    for path in image_files():
        v = default.embed(Image.open(path))
        assert v.shape == (1280,) and v.dtype == np.float32
        assert abs(np.linalg.norm(v) - 1) < 1e-5
        cos = ruvector_cnn.cosine_similarity(v, ref[path.name])
        assert cos >= 0.9999, (path.name, cos)


def test_same_pixels_give_the_cli_vectors_to_float_precision(default):
    ref = reference("default.jsonl")
    for path in image_files():
        v = default.embed(np.asarray(Image.open(path).convert("RGB")))
        np.testing.assert_allclose(v, ref[path.name], atol=1e-6)


def test_batch_equals_single_and_threads_agree(default):
    images = [np.asarray(Image.open(p).convert("RGB")) for p in image_files()]
    singles = np.stack([default.embed(i) for i in images])
    batch = default.embed_batch(images)
    assert batch.shape == (4, 1280) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, singles)
    two = ruvector_cnn.Embedder(threads=2).embed_batch(images)
    np.testing.assert_array_equal(two, singles)
    assert default.embed_batch([]).shape == (0, 1280)


def test_shared_embedder_across_python_threads(default):
    images = [np.asarray(Image.open(p).convert("RGB")) for p in image_files()]
    expected = [default.embed(i) for i in images]
    results, errors = {}, []

    def work(t):
        try:
            for k in range(3):
                j = (t + k) % len(images)
                results[(t, k)] = (j, default.embed(images[j]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for j, v in results.values():
        np.testing.assert_array_equal(v, expected[j])


def test_layouts_and_strided_arrays(default):
    rgb = np.asarray(Image.open(IMAGES / "chelsea.png").convert("RGB"))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    np.testing.assert_allclose(default.embed(rgba), default.embed(rgb), atol=1e-6)
    gray = rgb[:, :, 1].copy()
    np.testing.assert_array_equal(default.embed(gray), default.embed(gray[:, :, None]))
    np.testing.assert_array_equal(default.embed(gray), default.embed(np.dstack([gray] * 3)))
    crop = rgb[10:90, 15:150]  # not contiguous: copied once
    assert not crop.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(default.embed(crop), default.embed(crop.copy()))
    flipped = rgb[:, ::-1]
    np.testing.assert_array_equal(default.embed(flipped), default.embed(flipped.copy()))


def test_weights_path_and_bytes_match_the_cli():
    ref = reference("v3small.jsonl")
    by_path = ruvector_cnn.Embedder(model="mobilenetv3-small", weights=V3_SMALL)
    by_bytes = ruvector_cnn.Embedder(weights=V3_SMALL.read_bytes())
    assert by_path.model == "mobilenetv3-small" and by_path.dim == by_bytes.dim
    for path in image_files():
        img = Image.open(path)
        a, b = by_path.embed(img), by_bytes.embed(img)
        np.testing.assert_array_equal(a, b)
        assert ruvector_cnn.cosine_similarity(a, ref[path.name]) >= 0.9999


def test_options():
    raw = ruvector_cnn.Embedder(normalize=False, input_size=160, fit="letterbox")
    v = raw.embed(np.zeros((50, 90, 3), np.uint8))
    assert v.shape == (1280,) and abs(np.linalg.norm(v) - 1) > 1e-3


def test_errors_are_python_exceptions(default):
    with pytest.raises(TypeError, match="uint8"):
        default.embed(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(TypeError, match="PIL image"):
        default.embed("cat.jpg")
    with pytest.raises(ValueError, match=r"shape \[8, 8, 2\]"):
        default.embed(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ValueError, match="each side must be"):
        default.embed(np.zeros((0, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown model `resnet9`"):
        ruvector_cnn.Embedder(model="resnet9")
    with pytest.raises(ValueError, match="no pretrained"):
        ruvector_cnn.Embedder(model="mobilenetv3-large")
    with pytest.raises(ValueError, match="unknown output `mean`"):
        ruvector_cnn.Embedder(output="mean")
    with pytest.raises(OSError, match="no-such.safetensors"):
        ruvector_cnn.Embedder(weights="/no-such.safetensors")
    with pytest.raises(ValueError, match="bad weight file"):
        ruvector_cnn.Embedder(weights=b"\x00" * 20)
    with pytest.raises(ValueError, match="zero vector"):
        ruvector_cnn.cosine_similarity(np.zeros(3), np.ones(3))
