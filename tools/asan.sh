#!/usr/bin/env bash
# Runs the kernel and cross-crate tests under AddressSanitizer (nightly Rust).
#   tools/asan.sh [extra cargo test args]      e.g. tools/asan.sh -- --skip isa_env
# `--target` keeps the sanitizer flags off build scripts and proc-macros. Inputs in the kernel
# tests are exact-length allocations, so any out-of-bounds read is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(rustc -vV | sed -n 's/^host: //p')"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
export RUSTFLAGS="-Zsanitizer=address ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export RVCNN_PROPTEST_CASES="${RVCNN_PROPTEST_CASES:-64}"
exec cargo +nightly test --target "$target" --target-dir target/asan \
  -p ruvector-cnn-kernels -p ruvector-cnn-tests -p ruvector-cnn-capi --lib --tests "$@"
