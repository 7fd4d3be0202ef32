"""Every performance target of the kernel and whole-model issues, measured in one run on this
machine, each with its verdict.

    benches/compare/run.sh targets [--quick]

Measures (single-thread timings pinned to one core, the last this process may use, and the
two-thread ones to the last two; ONNX Runtime runs in this process, pinned the same way):
  * kernels (`rvcnn-kbench`, batch 1): every pointwise GEMM of MobileNetV3-Large against 70% of
    the measured FMA peak and of the nominal 285 GFLOP/s AVX-512 peak; every depthwise layer of
    MobileNetV3-Small and -Large against 30% of the measured peak or its memory-bound roofline,
    whichever is lower (the tool's `% bound`);
  * the pointwise GEMMs of MobileNetV3-Large inside the network (`rvcnn-mbench --layers`; layers
    of blocks that run band by band are timed with their depthwise conv and are left out);
  * against ONNX Runtime (compare.py, same weights, alternating rounds): V3-Small and V3-Large
    at batch 1 on one thread (ours / ORT <= 0.80) and at batch 32 on one thread (ORT / ours
    >= 1.2, i.e. images per second); our batch-32 speed-up from one to two threads (>= 1.8).

Prints a table of target, measured value and verdict, then the raw numbers. Exits 0 whether
or not the targets hold (it is a report); 2 on a failed measurement.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from compare import ALLOWED, MBENCH, ROOT, compare_f32, median, pin, weights_for  # noqa: E402

KBENCH = os.path.join(ROOT, "target", "release", "rvcnn-kbench")
NOMINAL_PEAK = 285.0

ROW = re.compile(
    r"^(?P<layer>.+?)\s+(?P<kernel>\S+/\S+)\s+(?P<us>[\d.]+)\s+(?P<gflops>[\d.]+)\s+"
    r"(?P<peak>[\d.]+)%\s+(?P<nominal>[\d.]+)%\s+(?P<roof>[\d.]+|n/a)\s+(?P<bound>[\d.]+%|n/a)$")


def kbench(model, only, samples):
    """Rows of `rvcnn-kbench --model MODEL --only ONLY` and the measured peak (GFLOP/s)."""
    out = subprocess.run([KBENCH, "--model", model, "--only", only, "--samples", str(samples)],
                         check=True, capture_output=True, text=True).stdout
    peak = float(re.search(r"measured FMA peak ([\d.]+)", out).group(1))
    rows = []
    for line in out.splitlines():
        m = ROW.match(line.strip())
        if m:
            rows.append(m.groupdict())
    if not rows:
        raise RuntimeError(f"rvcnn-kbench --model {model} --only {only} printed no layers")
    return rows, peak


def network_gemms(weights, runs):
    """`(layer, % of the measured peak)` of every pointwise GEMM in V3-Large's layer profile."""
    out = subprocess.run([MBENCH, "--weights", weights, "--layers", "--runs", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if (len(parts) >= 7 and "_gemm_" in line and parts[-2].endswith("%")
                and not line.startswith("classifier")):
            rows.append((" ".join(parts[:-5]), float(parts[-2].rstrip("%"))))
    if not rows:
        raise RuntimeError("rvcnn-mbench --layers printed no GEMM layers")
    return rows


def scaling(weights, batch, runs, rounds):
    """Our batch time on one and on two threads, alternating; returns (1-thread ms, 2-thread ms)."""
    def ms(threads):
        pin(threads)
        res = subprocess.run(
            [MBENCH, "--weights", weights, "--shape", f"{batch},3,224,224", "--runs", str(runs),
             "--warmup", "2", "--threads", str(threads)],
            check=True, capture_output=True, text=True)
        return json.loads(res.stdout)["median_ms"]
    one, two = [], []
    for _ in range(rounds):
        one.append(ms(1))
        two.append(ms(2))
    return median(one), median(two)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs (a rough check)")
    args = ap.parse_args()
    if len(ALLOWED) < 2:
        raise RuntimeError("the two-thread target needs two CPUs; this process may use one")
    pin(1)
    q = args.quick
    samples = 7 if q else 21
    b1_runs, b1_rounds = (100, 4) if q else (400, 8)
    b32_runs, b32_rounds = (8, 2) if q else (24, 4)
    checks = []  # (target, measured, holds)
    raw = []

    pw, peak = kbench("large", "pointwise", samples)
    lowest = min(pw, key=lambda r: float(r["peak"]))
    for label, col in (("measured", "peak"), ("nominal 285 GFLOP/s", "nominal")):
        worst = min(float(r[col]) for r in pw)
        met = sum(float(r[col]) >= 70.0 for r in pw)
        checks.append((f"V3-L pointwise >= 70% of the {label} peak (kbench)",
                       f"{met}/{len(pw)} layers; lowest {worst:.1f}% ({lowest['layer']})",
                       met == len(pw)))
    dw = []
    for model in ("small", "large"):
        rows, _ = kbench(model, "dw", samples)
        dw.extend(rows)
    short = [r for r in dw if r["bound"] == "n/a" or float(r["bound"].rstrip("%")) < 100.0]
    checks.append(("depthwise >= 30% of the measured peak or its roofline (kbench)",
                   f"{len(dw) - len(short)}/{len(dw)} layers"
                   + (f"; short: {', '.join(r['layer'] + ' ' + r['bound'] for r in short)}"
                      if short else ""),
                   not short))
    raw.append(f"kbench: measured FMA peak {peak:.1f} GFLOP/s/core; "
               + "; ".join(f"{r['layer']} {r['peak']}%" for r in pw))

    with tempfile.TemporaryDirectory() as tmp:
        v3l, _ = weights_for("mobilenet_v3_large", tmp)
        gemms = network_gemms(v3l, 60 if q else 200)
        worst = min(gemms, key=lambda g: g[1])
        checks.append(("V3-L pointwise >= 70% of the measured peak in the layer profile",
                       f"{sum(g[1] >= 70 for g in gemms)}/{len(gemms)} layers; lowest "
                       f"{worst[1]:.1f}% ({worst[0]})",
                       worst[1] >= 70.0))
        for arch, name in (("mobilenet_v3_small", "V3-S"), ("mobilenet_v3_large", "V3-L")):
            r = compare_f32(arch, tmp, 1, 224, 1, b1_runs, b1_rounds, 20)
            checks.append((f"{name} batch 1, 1 thread: ours/ORT <= 0.80",
                           f"{r['ratio']:.2f} ({r['ours_ms']:.3f} / {r['ort_ms']:.3f} ms, rounds "
                           f"{min(r['ratios']):.2f}-{max(r['ratios']):.2f})",
                           r["ratio"] <= 0.80))
            raw.append(f"{name} batch 1: max|diff| {r['diff']:.2e} at output scale {r['scale']:.2e}")
        for arch, name in (("mobilenet_v3_small", "V3-S"), ("mobilenet_v3_large", "V3-L")):
            r = compare_f32(arch, tmp, 32, 224, 1, b32_runs, b32_rounds, 2)
            speed = 1.0 / r["ratio"]
            checks.append((f"{name} batch 32, 1 thread: >= 1.2x ORT's images/s",
                           f"{speed:.2f}x ({r['ours_ms']:.1f} / {r['ort_ms']:.1f} ms)",
                           speed >= 1.2))
            w, _ = weights_for(arch, tmp)
            one, two = scaling(w, 32, b32_runs // b32_rounds, b32_rounds)
            pin(1)
            checks.append((f"{name} batch 32: 2 threads >= 1.8x our 1 thread",
                           f"{one / two:.2f}x ({one:.1f} / {two:.1f} ms)",
                           one / two >= 1.8))

    width = max(len(c[0]) for c in checks)
    for target, measured, holds in checks:
        print(f"{'MET    ' if holds else 'NOT MET'}  {target:<{width}}  {measured}")
    print()
    for line in raw:
        print(line)


if __name__ == "__main__":
    try:
        main()
    except (subprocess.CalledProcessError, RuntimeError, AttributeError) as e:
        print(f"targets.py: {e}", file=sys.stderr)
        sys.exit(2)
