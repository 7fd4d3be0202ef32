#!/usr/bin/env bash
# Runs the Rust tests of every library crate under AddressSanitizer (nightly Rust).
#   tools/asan.sh [extra cargo test args]      e.g. tools/asan.sh -- --skip isa_env
# The C test code (tests/c) is compiled without instrumentation; the C example test, which
# links the non-instrumented library artifacts, is skipped.
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
[ $# -gt 0 ] || set -- -- --skip c_example
exec cargo +nightly test --target "$target" --target-dir target/asan \
  -p ruvector-cnn-kernels -p ruvector-cnn-tests -p ruvector-cnn-capi -p ruvector-cnn-model \
  -p rvcnn --lib --tests "$@"
