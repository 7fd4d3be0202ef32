"""ruvector-cnn vs ONNX Runtime on the same weights, in one run on this machine.

    benches/compare/run.sh [--models mobilenet_v3_small,...] [--batch 1] [--threads 1] [--runs 200]
                           [--rounds 5]
    benches/compare/run.sh --int8 [--models mobilenet_v3_large,...] [--calib 8]

For each model: weights come from a .safetensors file (the cached pretrained MobileNetV2, or
torchvision-style random weights exported by rvcnn-mbench: speed does not depend on the
values); the ONNX graph is built from that file with the `onnx` package; both engines get the
same input, their outputs are compared (max abs diff), then both are timed with warm-up,
pinned to the same thread count, in alternating rounds (--rounds, default 5; each engine
--runs / rounds runs per round), so a slow phase of a shared machine hits both engines rather
than one. Prints each engine's median time (the median of its round medians) and the ratio
ours / ORT (the median of the per-round ratios, with their range; < 1 means ruvector-cnn is
faster).

With --int8 (one thread, batch 1): ONNX Runtime's INT8 model is the f32 graph quantized by
`onnxruntime.quantization.quantize_static` (QDQ, per-channel s8 weights, u8 activations,
min/max calibration on the same --calib images); ours is `rvcnn-mbench --int8`, calibrated on
those images too. Prints both INT8 times, the ratio, and our INT8 speed-up over our f32.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import logging

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
from onnx_graph import build  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MBENCH = os.path.join(ROOT, "target", "release", "rvcnn-mbench")
ALLOWED = sorted(os.sched_getaffinity(0))


def pin(cores):
    """Runs this process (and what it starts from now on) on the last `cores` allowed CPUs."""
    os.sched_setaffinity(0, ALLOWED[-cores:])


def cache_weights():
    d = os.environ.get("RVCNN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ruvector-cnn")
    return os.path.join(d, "mobilenetv2-imagenet.safetensors")


def weights_for(arch, tmp):
    """The weights to run `arch` with: the cached pretrained MobileNetV2, else seed-1 random
    weights exported to `tmp` once (later calls reuse the file: the export is the same)."""
    if arch == "mobilenet_v2" and os.path.exists(cache_weights()):
        return cache_weights(), "pretrained"
    path = os.path.join(tmp, f"{arch}.safetensors")
    if not os.path.exists(path):
        subprocess.run([MBENCH, "--export-random", arch, path], check=True)
    return path, "random init"


MODELS = ("mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2")


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


def int8_compare(args, tmp, arch, wpath, kind):
    logging.getLogger().setLevel(logging.ERROR)
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    rng = np.random.default_rng(1)
    calib = rng.standard_normal((args.calib, 3, args.size, args.size), dtype=np.float32)
    x = calib[:1]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": calib[i:i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.items, None)

    f32_path = os.path.join(tmp, f"{arch}.onnx")
    q_path = os.path.join(tmp, f"{arch}.int8.onnx")
    with open(f32_path, "wb") as f:
        f.write(build(load_file(wpath), arch).SerializeToString())
    # ORT's recommended pre-processing (graph optimisation: BatchNorm folded into the convs),
    # then static QDQ quantization.
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre_path = os.path.join(tmp, f"{arch}.pre.onnx")
    quant_pre_process(f32_path, pre_path, skip_symbolic_shape=True)
    quantize_static(pre_path, q_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(q_path, so, providers=["CPUExecutionProvider"])
    f32 = ort.InferenceSession(f32_path, so, providers=["CPUExecutionProvider"])
    want = f32.run(None, {"input": x})[0].ravel()
    ort_q = sess.run(None, {"input": x})[0].ravel()
    xin = os.path.join(tmp, "calib.f32")
    calib.astype("<f4").tofile(xin)
    shape = f"{args.calib},3,{args.size},{args.size}"
    yout = os.path.join(tmp, "yq.f32")
    common = ["--weights", wpath, "--input", xin, "--shape", shape, "--runs", str(args.runs),
              "--warmup", str(args.warmup)]
    # Ours: calibrated on the same images; timed on the whole calibration batch, per image.
    q = json.loads(subprocess.run([MBENCH, *common, "--int8", "--out", yout], check=True,
                                  capture_output=True, text=True).stdout)
    f = json.loads(subprocess.run([MBENCH, *common], check=True, capture_output=True,
                                  text=True).stdout)
    ours_q = np.fromfile(yout, dtype="<f4").reshape(args.calib, -1)[0]
    cos = lambda a, b: float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    ort_med, _ = time_ort(sess, x, args.runs, args.warmup)
    per = args.calib
    print(f"{arch:<20} {kind:<12} {cos(ours_q, want):>10.4f} {cos(ort_q, want):>10.4f} "
          f"{q['median_ms'] / per:>9.3f} {ort_med:>9.3f} {q['median_ms'] / per / ort_med:>9.2f} "
          f"{f['median_ms'] / q['median_ms']:>9.2f}")


def check_args(ap, args):
    """Rejects unknown `--models` and a `--rounds` outside 1..=`--runs`."""
    for arch in args.models.split(","):
        if arch not in MODELS:
            ap.error(f"unknown model {arch!r} (known: {', '.join(MODELS)})")
    if args.runs < 1 or args.rounds < 1 or args.rounds > args.runs:
        ap.error("need 1 <= --rounds <= --runs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mobilenet_v3_small,mobilenet_v3_large,mobilenet_v2")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--int8", action="store_true", help="compare INT8 models (one thread)")
    ap.add_argument("--calib", type=int, default=8, help="calibration images for --int8")
    ap.add_argument("--rounds", type=int, default=5,
                    help="alternating timing rounds per engine (f32 comparison)")
    args = ap.parse_args()
    check_args(ap, args)
    if args.int8:
        print(f"onnxruntime {ort.__version__}; INT8, batch 1, {args.size}x{args.size}, 1 thread, "
              f"median of {args.runs} runs; calibration on {args.calib} images")
        print(f"{'model':<20} {'weights':<12} {'cos ours':>10} {'cos ORT':>10} {'ours ms':>9} "
              f"{'ORT ms':>9} {'ours/ORT':>9} {'f32/int8':>9}")
        with tempfile.TemporaryDirectory() as tmp:
            for arch in args.models.split(","):
                wpath, kind = weights_for(arch, tmp)
                int8_compare(args, tmp, arch, wpath, kind)
        return
    per_round = args.runs // args.rounds
    print(f"onnxruntime {ort.__version__}; batch {args.batch}, {args.size}x{args.size}, "
          f"{args.threads} thread(s), {args.rounds} alternating rounds of {per_round} runs per "
          f"engine after {args.warmup} warm-up")
    print(f"{'model':<20} {'weights':<12} {'max|y|':>9} {'max|diff|':>10} {'ours ms':>9} "
          f"{'ORT ms':>9} {'ours/ORT':>9} {'range':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.models.split(","):
            r = compare_f32(arch, tmp, args.batch, args.size, args.threads, args.runs,
                            args.rounds, args.warmup)
            print(f"{arch:<20} {r['kind']:<12} {r['scale']:>9.2e} {r['diff']:>10.2e} "
                  f"{r['ours_ms']:>9.3f} {r['ort_ms']:>9.3f} {r['ratio']:>9.2f} "
                  f"{min(r['ratios']):>5.2f}-{max(r['ratios']):.2f}")


def median(v):
    return sorted(v)[len(v) // 2]


def compare_f32(arch, tmp, batch, size, threads, runs, rounds, warmup):
    """Both engines on `arch` (weights as in `weights_for`, written under `tmp`) with the same
    seeded input: checks the outputs agree, then times both in `rounds` alternating rounds.
    Returns the weights' kind, the output scale and max |diff|, each engine's median of round
    medians (ms), the median per-round ratio ours / ORT and all per-round ratios."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, size, size), dtype=np.float32)
    xin = os.path.join(tmp, "x.f32")
    x.astype("<f4").tofile(xin)
    wpath, kind = weights_for(arch, tmp)
    model = build(load_file(wpath), arch)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x})[0]
    yout = os.path.join(tmp, "y.f32")

    def ours_ms(n, out=()):
        res = subprocess.run(
            [MBENCH, "--weights", wpath, "--input", xin,
             "--shape", f"{batch},3,{size},{size}", "--runs", str(n),
             "--warmup", str(warmup), "--threads", str(threads), *out],
            check=True, capture_output=True, text=True)
        return json.loads(res.stdout)["median_ms"]

    ours_ms(1, ("--out", yout))
    got = np.fromfile(yout, dtype="<f4").reshape(want.shape)
    per_round = runs // rounds
    timed = []
    for _ in range(rounds):
        o = ours_ms(per_round)
        t, _ = time_ort(sess, x, per_round, warmup)
        timed.append((o, t, o / t))
    return {
        "kind": kind,
        "scale": float(np.abs(want).max()),
        "diff": float(np.abs(got - want).max()),
        "ours_ms": median([r[0] for r in timed]),
        "ort_ms": median([r[1] for r in timed]),
        "ratio": median([r[2] for r in timed]),
        "ratios": [r[2] for r in timed],
    }

if __name__ == "__main__":
    main()
