"""Per-layer profile of ruvector-cnn next to ONNX Runtime's, on the same weights: where each
engine spends a batch-1 forward pass on one core.

    benches/compare/run.sh layers [--models mobilenet_v3_large,...] [--runs 300]

Both engines run --runs passes in --rounds alternating rounds (a slow phase of a shared
machine then hits both), on the same single core (the last this process may use). Ours:
`rvcnn-mbench --layers`, per layer the median of its round medians. ONNX Runtime: its
profiler (`enable_profiling`), per layer the median over all passes of the sum of its nodes'
kernel times. The ONNX graph's node names start with the layer they belong to
(onnx_graph.py) and ONNX Runtime's fused nodes keep such a name; nodes it inserts or renames
(NCHWc reorders, reshapes, the SE's Mul, residual Adds) count to the layer that ran just
before them. A block that ours runs band by band (`features.N banded`: expansion, depthwise
and projection in one sweep) is one row, against the sum of ONNX Runtime's layers of that
block. Then totals per kind of layer: stem, banded blocks, pointwise GEMMs (expansions,
projections, last conv), depthwise, squeeze-excitation, other.

The profiler costs ONNX Runtime a few µs per node: the difference between its profile's total
and its unprofiled median time (a second session, timed in the same rounds), spread evenly
over its nodes, is taken off every layer, so a layer of many small nodes (its
squeeze-excitation) is not charged for the profiler and the totals match its unprofiled time.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
from compare import MBENCH, check_args, median, pin, time_ort, weights_for  # noqa: E402
from onnx_graph import build  # noqa: E402

ROW = re.compile(r"^(?P<layer>.+?)\s+(?P<kernel>\S+/\S+)\s+(?P<us>[\d.]+)\s")
KINDS = ("stem", "banded blocks", "pointwise GEMMs", "depthwise", "squeeze-excitation", "other")


def ours(weights, runs):
    """`[(layer, kernel, µs)]` of `rvcnn-mbench --layers`, in order, and its header line."""
    out = subprocess.run([MBENCH, "--weights", weights, "--layers", "--runs", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    rows = [(m["layer"], m["kernel"], float(m["us"]))
            for m in map(ROW.match, out.splitlines()) if m]
    if not rows:
        raise RuntimeError("rvcnn-mbench --layers printed no layers")
    return rows, out.splitlines()[0]


class OrtProfile:
    """An ONNX Runtime session with its profiler on, one thread, and the same input as ours."""

    def __init__(self, model, tmp):
        self.tmp = tmp
        self.x = np.random.default_rng(0).standard_normal((1, 3, 224, 224), dtype=np.float32)
        self.model = model
        self.sess = self.session(True)
        self.plain = self.session(False)
        self.passes = 0

    def session(self, profile):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if profile:
            so.enable_profiling = True
            so.profile_file_prefix = os.path.join(self.tmp, "ort")
        return ort.InferenceSession(self.model, so, providers=["CPUExecutionProvider"])

    def unprofiled_ms(self, runs, warmup):
        """The median time of a pass without the profiler (the second session)."""
        return time_ort(self.plain, self.x, runs, warmup)[0]

    def run(self, passes, timed=True):
        for _ in range(passes):
            self.sess.run(None, {"input": self.x})
        self.passes += passes if timed else 0

    def layers(self):
        """The median µs per layer over the timed passes (the last `self.passes`)."""
        with open(self.sess.end_profiling()) as f:
            events = json.load(f)
        runs = self.passes
        per_node = collections.defaultdict(list)  # node -> its kernel times, pass by pass
        layer_of, scope, pending = {}, None, []
        for e in events:
            if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
                continue
            node = e["name"][:-len("_kernel_time")]
            per_node[node].append(e["dur"])
            if node in layer_of or node in pending:
                continue
            if "/" in node:
                scope = node.split("/")[0]
                layer_of[node] = scope
                for p in pending:  # nodes before the first named one
                    layer_of[p] = scope
                pending = []
            elif scope is None:
                pending.append(node)
            else:
                layer_of[node] = scope
        totals = collections.defaultdict(lambda: [0.0] * runs)
        for node, durs in per_node.items():
            if len(durs) < runs:
                raise RuntimeError(f"ONNX Runtime's profile has {len(durs)} passes of {node}")
            for i, d in enumerate(durs[-runs:]):
                totals[layer_of[node]][i] += d
        nodes = collections.Counter(layer_of.values())
        return {layer: median(v) for layer, v in totals.items()}, nodes


def kind(layer):
    if layer == "features.0 conv":
        return "stem"
    role = layer.split()[-1]
    return {"banded": "banded blocks", "expand": "pointwise GEMMs", "project": "pointwise GEMMs",
            "conv": "pointwise GEMMs", "dw": "depthwise", "se": "squeeze-excitation"}.get(
                role, "other")


def report(arch, runs, rounds, warmup, tmp):
    weights, kind_of_weights = weights_for(arch, tmp)
    prof = OrtProfile(build(load_file(weights), arch).SerializeToString(), tmp)
    prof.run(warmup, timed=False)
    per = max(1, runs // rounds)
    mine, plain = collections.defaultdict(list), []
    for _ in range(rounds):
        rows, header = ours(weights, per)
        for layer, kernel, us in rows:
            mine[(layer, kernel)].append(us)
        prof.run(per)
        plain.append(prof.unprofiled_ms(per, warmup))
    plain_ms = median(plain)
    rows = [(layer, kernel, median(v)) for (layer, kernel), v in mine.items()]
    theirs, nodes = prof.layers()
    # The profiler's own cost, spread evenly over the nodes, comes off every layer.
    per_node = max(0.0, (sum(theirs.values()) - plain_ms * 1e3) / sum(nodes.values()))
    theirs = {k: max(0.0, v - per_node * nodes[k]) for k, v in theirs.items()}
    print(f"\n{arch} ({kind_of_weights} weights); ours: {header}")
    print(f"ORT: {sum(nodes.values())} nodes; its profiler's cost, {per_node:.1f} µs per node "
          f"(profile total less the unprofiled median {plain_ms:.3f} ms), taken off each layer")
    print(f"{'layer':<22} {'kernel (ours)':<44} {'ours µs':>9} {'ORT µs':>9} {'ours/ORT':>9}")
    by_kind = collections.defaultdict(lambda: [0.0, 0.0])
    seen = set()
    for layer, kernel, us in rows:
        if layer.endswith(" banded"):
            block = layer[:-len("banded")]
            parts = [k for k in theirs if k.startswith(block)]
        else:
            parts = [layer] if layer in theirs else []
        seen.update(parts)
        t = sum(theirs[p] for p in parts)
        ratio = f"{us / t:9.2f}" if t else f"{'n/a':>9}"
        print(f"{layer:<22} {kernel:<44} {us:9.1f} {t:9.1f} {ratio}")
        by_kind[kind(layer)][0] += us
        by_kind[kind(layer)][1] += t
    for layer in sorted(set(theirs) - seen):  # ONNX Runtime layers ours has no row for
        print(f"{layer:<22} {'-':<44} {0.0:9.1f} {theirs[layer]:9.1f} {'n/a':>9}")
        by_kind["other"][1] += theirs[layer]
    print(f"{'kind':<22} {'':<44} {'ours µs':>9} {'ORT µs':>9} {'ours/ORT':>9}")
    for k in KINDS:
        o, t = by_kind[k]
        if o or t:
            print(f"{k:<22} {'':<44} {o:9.1f} {t:9.1f} "
                  + (f"{o / t:9.2f}" if t else f"{'n/a':>9}"))
    o, t = (sum(v[i] for v in by_kind.values()) for i in (0, 1))
    print(f"{'total':<22} {'':<44} {o:9.1f} {t:9.1f} {o / t:9.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mobilenet_v3_large")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per engine")
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()
    check_args(ap, args)
    pin(1)
    print(f"onnxruntime {ort.__version__}; batch 1, 224x224, one thread on one core, "
          f"{args.runs} passes per engine in {args.rounds} alternating rounds")
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.models.split(","):
            report(arch, args.runs, args.rounds, args.warmup, tmp)


if __name__ == "__main__":
    main()
