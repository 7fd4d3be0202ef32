"""Writes the seed inputs of the fuzz targets into fuzz/corpus/<target>/seed-*:
small, valid-or-nearly-valid examples the fuzzer mutates (libFuzzer keeps what it finds
beside them; tools/fuzz.sh --minimize shrinks the set before committing).

    target/bindings/py-venv/bin/python tools/make_fuzz_seeds.py     # needs Pillow
"""

import io
import json
import pathlib
import random
import shutil
import struct

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fuzz" / "corpus"
rng = random.Random(7)


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def safetensors(tensors, metadata):
    """tensors: {key: (dtype, shape, bytes)}."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for key, (dtype, shape, data) in tensors.items():
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32(n):
    return struct.pack(f"<{n}f", *(rng.uniform(-1, 1) for _ in range(n)))


# weights: a MobileNetV3-Small stem (the first keys the model reads), F32 and F16, and an
# INT8-model header.
stem = {
    "features.0.0.weight": ("F32", [16, 3, 3, 3], f32(16 * 27)),
    "features.0.1.weight": ("F32", [16], f32(16)),
    "features.0.1.bias": ("F32", [16], f32(16)),
    "features.0.1.running_mean": ("F32", [16], f32(16)),
    "features.0.1.running_var": ("F32", [16], struct.pack("<16f", *([1.0] * 16))),
}
put("weights", "v3small-stem", safetensors(stem, {"arch": "mobilenet_v3_small", "width_mult": "1.0"}))
put("weights", "f16", safetensors({"a": ("F16", [2, 2], b"\x00\x3c" * 4)}, {"arch": "mobilenet_v2", "width_mult": "0.1"}))
put("weights", "int8-meta", safetensors(stem, {"arch": "mobilenet_v3_small", "width_mult": "1.0",
                                             "int8_ranges": "[[0.0, 1.0]]", "int8_size": "32"}))
shutil.copy(ROOT / "model/tests/fixtures/legacy_tiny.expected.safetensors", CORPUS / "weights" / "seed-legacy-expected")

# torch_legacy: the tiny legacy pickle fixture.
(CORPUS / "torch_legacy").mkdir(parents=True, exist_ok=True)
shutil.copy(ROOT / "model/tests/fixtures/legacy_tiny.pt", CORPUS / "torch_legacy" / "seed-tiny")

# image: tiny PNGs (gray, RGB, RGBA, palette) and JPEGs (RGB, gray, progressive).
src = Image.open(ROOT / "bindings/testdata/chelsea.png").convert("RGB").resize((9, 7))
for mode, fmt, kw in [("RGB", "PNG", {}), ("L", "PNG", {}), ("RGBA", "PNG", {}), ("P", "PNG", {}),
                      ("RGB", "JPEG", {"quality": 80}), ("L", "JPEG", {}),
                      ("RGB", "JPEG", {"progressive": True})]:
    buf = io.BytesIO()
    src.convert(mode).save(buf, fmt, **kw)
    put("image", f"{mode.lower()}-{fmt.lower()}{'-prog' if kw.get('progressive') else ''}", buf.getvalue())

# preprocess, ops, capi: byte strings the targets read as small numbers.
for t in ("preprocess", "ops", "capi"):
    for k in range(6):
        put(t, str(k), bytes(rng.randrange(256) for _ in range(24 + 40 * k)))
