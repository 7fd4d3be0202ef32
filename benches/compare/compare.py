"""ruvector-cnn vs ONNX Runtime on the same weights, in one run on this machine.

    benches/compare/run.sh [--models mobilenet_v3_small,...] [--batch 1] [--threads 1] [--runs 200]

For each model: weights come from a .safetensors file (the cached pretrained MobileNetV2, or
torchvision-style random weights exported by rvcnn-mbench: speed does not depend on the
values); the ONNX graph is built from that file with the `onnx` package; both engines get the
same input, their outputs are compared (max abs diff), then both are timed with warm-up,
pinned to the same thread count, median of many runs. Prints the ratio (ours / ORT: < 1 means
ruvector-cnn is faster).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
from onnx_graph import build  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MBENCH = os.path.join(ROOT, "target", "release", "rvcnn-mbench")


def cache_weights():
    d = os.environ.get("RVCNN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ruvector-cnn")
    return os.path.join(d, "mobilenetv2-imagenet.safetensors")


def weights_for(arch, tmp):
    if arch == "mobilenet_v2" and os.path.exists(cache_weights()):
        return cache_weights(), "pretrained"
    path = os.path.join(tmp, f"{arch}.safetensors")
    subprocess.run([MBENCH, "--export-random", arch, path], check=True)
    return path, "random init"


def time_ort(sess, x, runs, warmup):
    feed = {"input": x}
    for _ in range(warmup):
        sess.run(None, feed)
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        sess.run(None, feed)
        t.append((time.perf_counter() - a) * 1e3)
    t.sort()
    return t[len(t) // 2], t[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mobilenet_v3_small,mobilenet_v3_large,mobilenet_v2")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    print(f"onnxruntime {ort.__version__}; batch {args.batch}, {args.size}x{args.size}, "
          f"{args.threads} thread(s), median of {args.runs} runs after {args.warmup} warm-up")
    print(f"{'model':<20} {'weights':<12} {'max|y|':>9} {'max|diff|':>10} {'ours ms':>9} {'ORT ms':>9} {'ours/ORT':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((args.batch, 3, args.size, args.size), dtype=np.float32)
        xin = os.path.join(tmp, "x.f32")
        x.astype("<f4").tofile(xin)
        for arch in args.models.split(","):
            wpath, kind = weights_for(arch, tmp)
            model = build(load_file(wpath), arch)
            so = ort.SessionOptions()
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
            want = sess.run(None, {"input": x})[0]
            yout = os.path.join(tmp, "y.f32")
            res = subprocess.run(
                [MBENCH, "--weights", wpath, "--input", xin,
                 "--shape", f"{args.batch},3,{args.size},{args.size}", "--runs", str(args.runs),
                 "--warmup", str(args.warmup), "--threads", str(args.threads), "--out", yout],
                check=True, capture_output=True, text=True)
            ours = json.loads(res.stdout)
            got = np.fromfile(yout, dtype="<f4").reshape(want.shape)
            diff = float(np.abs(got - want).max())
            ort_med, _ = time_ort(sess, x, args.runs, args.warmup)
            scale = float(np.abs(want).max())
            print(f"{arch:<20} {kind:<12} {scale:>9.2e} {diff:>10.2e} {ours['median_ms']:>9.3f} {ort_med:>9.3f} "
                  f"{ours['median_ms'] / ort_med:>9.2f}")


if __name__ == "__main__":
    main()
