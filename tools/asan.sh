#!/usr/bin/env bash
# Runs the Rust tests of every library crate under AddressSanitizer (tools/zcargo.sh picks
# the toolchain: nightly if installed, else the default toolchain with RUSTC_BOOTSTRAP=1).
#   tools/asan.sh [extra cargo test args]      e.g. tools/asan.sh -- --skip isa_env
#   tools/asan.sh --quick [extra cargo test args]
# --quick (the .ci/run lane) runs the kernels crate's tests only: every generated variant at
# every level the CPU has, and every operator — all of the crate's SIMD `unsafe` — without
# building the rest of the workspace instrumented, at opt-level 0 (~1 min instead of ~9).
# The C API's `unsafe` is covered in CI by tools/valgrind-c.sh and the `capi` fuzz target.
# The C test code (tests/c) is compiled without instrumentation; the C example test, which
# links the non-instrumented library artifacts, is skipped. RVCNN_PROPTEST_CASES (default
# 64 here) sets the cases per kernel variant; .ci/run's lane uses fewer.
# `--target` keeps the sanitizer flags off build scripts and proc-macros. Inputs in the kernel
# tests are exact-length allocations, so any out-of-bounds read is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/zcargo.sh
target="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="-Zsanitizer=address ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export RVCNN_PROPTEST_CASES="${RVCNN_PROPTEST_CASES:-64}"
unset CARGO_BUILD_TARGET
asan_test() { zcargo test --target "$target" --target-dir "${CARGO_TARGET_DIR:-target}/asan" "$@"; }
if [ "${1:-}" = --quick ]; then
  shift
  # At opt-level 0: the instrumented kernels crate then builds in 46 s instead of 235 s
  # (Zen 3 host), and its 16-case proptests still run in seconds.
  export CARGO_PROFILE_DEV_OPT_LEVEL=0
  asan_test -p ruvector-cnn-kernels --lib "$@"
  exit
fi
[ $# -gt 0 ] || set -- -- --skip c_example
asan_test -p ruvector-cnn-kernels -p ruvector-cnn-tests -p ruvector-cnn-capi -p ruvector-cnn-model \
  -p rvcnn --lib --tests "$@"
