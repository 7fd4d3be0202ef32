"""How close INT8 embeddings stay to f32 on real images, ruvector-cnn vs ONNX Runtime, with
calibration and test images kept apart.

    benches/compare/run.sh fidelity --images /tmp/rvcnn-eval/tuxpaint [--every 9] [--head-blocks 2]

The images (PNG/JPEG under --images, in path order) are split: every --every-th image
calibrates, the others are the held-out test set. Both engines run the cached pretrained
MobileNetV2 (`rvcnn fetch`) calibrated on the calibration images, then every test image is
embedded in f32 and in INT8 by the same engine and the cosine between the two pooled
embeddings is taken; prints mean, 1st percentile and worst.

- ours: `rvcnn embed --int8 --calib DIR` (its default MSE ranges and automatic f32 layers)
  against `rvcnn embed`;
- ONNX Runtime: the f32 ONNX graph (built from the same safetensors file) quantized by
  `quantize_static` (QDQ, per-channel s8 weights, u8 activations, min/max calibration, after
  `quant_pre_process`), once fully and once with the stem and blocks up to
  `features.{--head-blocks}` left in f32 (the f32 head ours picks for this model). Images are
  preprocessed with PIL like torchvision's eval transform (shorter side 256, centre 224 crop,
  ImageNet mean/std, transparency over white); each engine's INT8 is compared with its own
  f32, so small preprocessing differences between the engines do not enter the cosines.
"""

import argparse
import glob
import logging
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
from compare import ROOT, cache_weights  # noqa: E402
from onnx_graph import build  # noqa: E402

RVCNN = os.path.join(ROOT, "target", "release", "rvcnn")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def images(d):
    return sorted(p for e in ("png", "jpg", "jpeg") for p in glob.glob(f"{d}/**/*.{e}", recursive=True))


def preprocess(path):
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im)
    im = im.convert("RGB")
    w, h = im.size
    s = 256 / min(w, h)
    im = im.resize((max(224, round(w * s)), max(224, round(h * s))), Image.BILINEAR)
    w, h = im.size
    left, top = (w - 224) // 2, (h - 224) // 2
    a = (np.asarray(im.crop((left, top, left + 224, top + 224)), np.float32) / 255 - MEAN) / STD
    return a.transpose(2, 0, 1)[None].copy()


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def summary(label, c, names):
    worst = np.argsort(c)[:3]
    named = ", ".join(f"{os.path.basename(names[i])} {c[i]:.4f}" for i in worst)
    print(f"{label:<58} {c.mean():>7.4f} {np.percentile(c, 1):>7.4f} {c.min():>7.4f}   {named}",
          flush=True)


def ours(calib, test, tmp):
    calib_dir = os.path.join(tmp, "calib")
    os.mkdir(calib_dir)
    for i, p in enumerate(calib):
        os.symlink(os.path.abspath(p), os.path.join(calib_dir, f"{i:05}{os.path.splitext(p)[1]}"))
    out = {}
    for kind, extra in (("f32", []), ("int8", ["--int8", "--calib", calib_dir])):
        path = os.path.join(tmp, f"{kind}.npy")
        subprocess.run([RVCNN, "embed", *test, "--threads", "0", "--out", path, *extra],
                       check=True, capture_output=True)
        out[kind] = np.load(path)
    return cosines(out["f32"], out["int8"])


def ort_int8(f32_path, calib, test, exclude, tmp):
    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": x} for x in calib])

        def get_next(self):
            return next(self.items, None)

    q_path = os.path.join(tmp, f"q{len(exclude)}.onnx")
    quantize_static(f32_path, q_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=exclude)
    sess = ort.InferenceSession(q_path, providers=["CPUExecutionProvider"])
    return np.stack([sess.run(None, {"input": x})[0].ravel() for x in test])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True, help="a folder of images (searched recursively)")
    ap.add_argument("--every", type=int, default=9, help="every N-th image calibrates")
    ap.add_argument("--head-blocks", type=int, default=2,
                    help="ORT's f32 head: stem and features.1..N stay f32")
    args = ap.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    weights = cache_weights()
    if not os.path.exists(weights):
        sys.exit(f"{weights} missing: run `rvcnn fetch` first")
    paths = images(args.images)
    calib_paths = paths[::args.every]
    test_paths = [p for i, p in enumerate(paths) if i % args.every]
    print(f"MobileNetV2 (pretrained), {len(calib_paths)} calibration and {len(test_paths)} "
          f"test images; cosine(INT8, f32) of pooled embeddings")
    print(f"{'engine':<58} {'mean':>7} {'1st pct':>7} {'worst':>7}   lowest")
    with tempfile.TemporaryDirectory() as tmp:
        summary("ruvector-cnn (rvcnn embed --int8)", ours(calib_paths, test_paths, tmp), test_paths)
        f32_path = os.path.join(tmp, "v2.onnx")
        with open(f32_path, "wb") as f:
            f.write(build(load_file(weights), "mobilenet_v2").SerializeToString())
        pre = os.path.join(tmp, "v2.pre.onnx")
        quant_pre_process(f32_path, pre, skip_symbolic_shape=True)
        model = onnx.load(pre)
        for i, node in enumerate(model.graph.node):
            node.name = node.name or f"node{i}"
        onnx.save(model, pre)
        # The head: every node up to the last one with a weight of features.0..N.
        head = tuple(f"features.{b}." for b in range(args.head_blocks + 1))
        last = max(i for i, n in enumerate(model.graph.node)
                   if any(any(h in x for h in head) for x in n.input))
        calib = [preprocess(p) for p in calib_paths]
        test = [preprocess(p) for p in test_paths]
        f32 = ort.InferenceSession(f32_path, providers=["CPUExecutionProvider"])
        want = np.stack([f32.run(None, {"input": x})[0].ravel() for x in test])
        for label, exclude in (
            ("ONNX Runtime QDQ, all layers INT8", []),
            (f"ONNX Runtime QDQ, stem..features.{args.head_blocks} in f32",
             [n.name for n in model.graph.node[:last + 1]]),
        ):
            summary(label, cosines(want, ort_int8(pre, calib, test, exclude, tmp)), test_paths)


if __name__ == "__main__":
    main()
