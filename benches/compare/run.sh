#!/usr/bin/env bash
# Side-by-side ruvector-cnn vs ONNX Runtime (see compare.py). Creates a venv with onnx,
# onnxruntime, numpy and safetensors (PyPI) under target/compare-venv, builds rvcnn-mbench in
# release mode, then runs compare.py with the given arguments.
#   benches/compare/run.sh --batch 1 --threads 1
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/compare-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q onnx onnxruntime numpy safetensors
fi
cargo build --release -q -p ruvector-cnn-benches --bin rvcnn-mbench
exec "$venv/bin/python" benches/compare/compare.py "$@"
