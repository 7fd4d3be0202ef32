#!/usr/bin/env bash
# Side-by-side ruvector-cnn vs ONNX Runtime (see compare.py). Creates a venv with onnx,
# onnxruntime, numpy, safetensors and pillow (PyPI) under target/compare-venv, builds
# rvcnn-mbench, rvcnn-kbench (and rvcnn) in release mode, then runs compare.py with the given
# arguments; with `fidelity` first, int8_fidelity.py (INT8-vs-f32 cosines on held-out images);
# with `targets` first, targets.py (every performance target, measured, with its verdict);
# with `layers` first, layers.py (per-layer profiles of both engines side by side).
#   benches/compare/run.sh --batch 1 --threads 1
#   benches/compare/run.sh fidelity --images DIR [--every 9]
#   benches/compare/run.sh targets [--quick]
#   benches/compare/run.sh layers [--models mobilenet_v3_large,mobilenet_v3_small]
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/compare-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import PIL" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnx onnxruntime numpy safetensors pillow
fi
cargo build --release -q -p ruvector-cnn-benches --bin rvcnn-mbench --bin rvcnn-kbench -p rvcnn
script=compare.py
case "${1:-}" in
  fidelity) script=int8_fidelity.py; shift ;;
  targets) script=targets.py; shift ;;
  layers) script=layers.py; shift ;;
esac
exec "$venv/bin/python" "benches/compare/$script" "$@"
