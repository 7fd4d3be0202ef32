#!/usr/bin/env bash
# Runs this workspace's tests for aarch64 (NEON, dotprod) under qemu-user and for
# wasm32-wasip1 (SIMD128) under node, on an x86_64 Debian machine whose rustup has only the
# x86_64 target: Debian's rustc-web toolchain builds for aarch64 against its multiarch arm64
# std, and for wasm32 with -Zbuild-std (its rust-web-src) linked by wasm-ld against Debian's
# wasi-libc.
#
#   tools/cross_test.sh [--no-install] [--only aarch64|wasm] [CARGO TEST ARGS...]
#   e.g. tools/cross_test.sh --only aarch64 -p ruvector-cnn-kernels --lib
#   tools/cross_test.sh [--no-install] --kbench [RVCNN-KBENCH ARGS...]
#   tools/cross_test.sh [--only aarch64|wasm] --install-only   (the packages, no tests)
#   e.g. tools/cross_test.sh --kbench --ratios --model small --samples 3
#
# Default test selection (no args):
#   aarch64: the kernels crate's per-variant proptests on two emulated CPUs, cortex-a53 (no
#     dot product: `neon` required) and `max` (`neon,neondot` required);
#   wasm: the kernels crate's per-variant proptests built with +simd128 (`wasm128` required)
#     under node's WASI (single-threaded).
#   RVCNN_CROSS_FULL=1 adds, on both targets, the cross-crate tests of dispatch levels,
#     convolution algorithms and the f32 and INT8 models (skipping the scalar level:
#     RVCNN_TEST_SKIP_SCALAR), and the kernels of a wasm32 build without SIMD128. (.ci/run
#     keeps to the default for time; the WASM binding lane runs the models end to end in
#     SIMD128 and scalar builds.)
# With args, they go to `cargo test` for the selected targets (both unless --only); the
# aarch64 runner's CPU is RVCNN_QEMU_CPU and RVCNN_REQUIRE_ISA is the caller's.
# `--kbench` builds `rvcnn-kbench` (release) for the selected targets and runs it under qemu /
# node instead of testing: with `--ratios`, the speed of each NEON/dotprod/SIMD128 kernel over
# the scalar one, per layer (emulated times are not native; only the ratios mean something).
# Env: RVCNN_WASM_SIMD=0 (args only) builds wasm32 without SIMD128,
#      RVCNN_CROSS_FULL=1 (default lanes) adds the model tests and the wasm32 scalar lane,
#      RVCNN_QEMU_CPU (default `max`; `cortex-a53` is a CPU without dotprod),
#      RVCNN_CROSS_TARGET_DIR (default target/cross: Debian's rustc must not share a target
#      directory with rustup's, whatever CARGO_TARGET_DIR says).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/step.sh

install=1 kbench=0 only=all install_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0; shift ;;
    --install-only) install_only=1; shift ;;
    --only) only="$2"; shift 2 ;;
    --kbench) kbench=1; shift; break ;;
    *) break ;;
  esac
done
case "$only" in all|aarch64|wasm) ;; *) echo "--only aarch64|wasm" >&2; exit 2 ;; esac

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  missing=()
  pkgs=(rustc-web cargo-web)
  [ "$only" = wasm ] || pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
  [ "$only" = aarch64 ] || pkgs+=(rust-web-src lld-22 wasi-libc nodejs)
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || command -v "${p%js}" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ "$only" != wasm ] && ! dpkg -s libstd-rust-web-dev:arm64 >/dev/null 2>&1; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    version=$(dpkg-query -W -f='${Version}' rustc-web)
    apt-get install -y -qq --no-install-recommends "libstd-rust-web-dev:arm64=$version" >/dev/null
  fi
}
[ "$install" = 0 ] || step install_packages

[ "$install_only" = 0 ] || exit 0

# Debian's cargo and rustc (rustup's proxies come first on PATH otherwise).
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_DIR="${RVCNN_CROSS_TARGET_DIR:-$PWD/target/cross}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
# The qemu-user runner for CPU model $1. With the arm64 libc installed (multiarch), its loader
# must be the one used: adding `-L /usr/aarch64-linux-gnu` mixes two glibcs and hangs threads.
run_on() {
  local r="qemu-aarch64 -cpu $1"
  [ -e /lib/ld-linux-aarch64.so.1 ] || r="$r -L /usr/aarch64-linux-gnu"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$r"
}
arm_test() { /usr/bin/cargo test --locked --target aarch64-unknown-linux-gnu "$@"; }
# wasm32-wasip1 with SIMD128, std rebuilt (panic=abort: the first failure ends a test
# binary); `wasm_cargo test|build ARGS`.
# `--single-threaded`: node 20's V8 crashed (SIGSEGV, after every test had passed) at exit
# in 3 of 6 runs of one test binary while background threads were still tiering its wasm
# up; without V8's worker threads it did not in 6 of 6 (the guest is single-threaded anyway).
wasm_runner="node --no-warnings --single-threaded $PWD/tools/wasi/run.mjs"
# RVCNN_WASM_SIMD=0 builds without SIMD128 (the scalar fallback), in its own target directory.
wasm_cargo() {
  local cmd=$1 wasi=/usr/lib/wasm32-wasi flags target_dir=$CARGO_TARGET_DIR
  shift
  flags="-C link-self-contained=no -L native=$wasi"
  if [ "${RVCNN_WASM_SIMD:-1}" = 1 ]; then
    flags="-C target-feature=+simd128 $flags"
  else
    target_dir="$CARGO_TARGET_DIR/wasm-scalar"
  fi
  flags="$flags -C link-arg=--allow-undefined-file=$PWD/tools/wasi/undefined.txt"
  CARGO_TARGET_DIR="$target_dir" RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_WASIP1_LINKER="$PWD/tools/wasi/ld.sh" \
    CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="$flags" \
    CARGO_TARGET_WASM32_WASIP1_RUNNER="$wasm_runner" \
    /usr/bin/cargo "$cmd" --locked --target wasm32-wasip1 -Zbuild-std=std,panic_abort "$@"
}
wasm_test() { wasm_cargo test "$@"; }

if [ "$kbench" = 1 ]; then
  kb=(-p ruvector-cnn-benches --bin rvcnn-kbench --release)
  if [ "$only" != wasm ]; then
    echo "== aarch64 (qemu-aarch64 -cpu ${RVCNN_QEMU_CPU:-max})"
    /usr/bin/cargo build --locked --target aarch64-unknown-linux-gnu "${kb[@]}"
    run_on "${RVCNN_QEMU_CPU:-max}"
    $CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER \
      "$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release/rvcnn-kbench" "$@"
  fi
  if [ "$only" != aarch64 ]; then
    echo "== wasm32-wasip1 +simd128 (node $(node --version))"
    wasm_cargo build "${kb[@]}"
    $wasm_runner "$CARGO_TARGET_DIR/wasm32-wasip1/release/rvcnn-kbench.wasm" "$@"
  fi
  exit
fi
if [ $# -gt 0 ]; then
  rc=0
  if [ "$only" != wasm ]; then run_on "${RVCNN_QEMU_CPU:-max}"; arm_test "$@" || rc=1; fi
  if [ "$only" != aarch64 ]; then wasm_test "$@" || rc=1; fi
  exit $rc
fi
# Default: every level each target has required (a skipped variant fails).
# The cross-crate model tests take no image files (`--no-default-features`: no image
# decoders to build) and skip the scalar level, which the host lane covers.
model_tests=(-p ruvector-cnn-tests --no-default-features --test dispatch_levels
  --test conv_algorithms --test model_golden --test int8_model)
export RVCNN_TEST_SKIP_SCALAR=1
if [ "$only" != wasm ]; then
  # cortex-a53 (ARMv8.0, no dot product): every f32 and baseline-NEON INT8 variant.
  run_on cortex-a53
  RVCNN_REQUIRE_ISA=neon step arm_test -p ruvector-cnn-kernels --lib
  # max (has dotprod): the `neondot` INT8 variants (the rest ran above); with
  # RVCNN_CROSS_FULL=1 then dispatch levels, convolution algorithms, and the f32 and INT8
  # models.
  run_on max
  RVCNN_REQUIRE_ISA=neon,neondot step arm_test -p ruvector-cnn-kernels --lib -- neondot
  if [ "${RVCNN_CROSS_FULL:-0}" = 1 ]; then
    RVCNN_REQUIRE_ISA=neon,neondot step arm_test "${model_tests[@]}"
  fi
fi
if [ "$only" != aarch64 ]; then
  # SIMD128 (`wasm128` required): every kernel variant (single-threaded: wasm32-wasip1 has
  # no threads). The models run end to end in WebAssembly, SIMD128 and scalar builds, in
  # the WASM binding's lane (tools/bindings_test.sh); RVCNN_CROSS_FULL=1 also runs the
  # model tests here and the kernels of a build without SIMD128.
  export RVCNN_REQUIRE_ISA=wasm128
  step wasm_test -p ruvector-cnn-kernels --lib
  if [ "${RVCNN_CROSS_FULL:-0}" = 1 ]; then
    step wasm_test "${model_tests[@]}"
    RVCNN_WASM_SIMD=0 RVCNN_REQUIRE_ISA= step wasm_test -p ruvector-cnn-kernels --lib
  fi
fi
