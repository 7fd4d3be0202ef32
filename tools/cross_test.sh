#!/usr/bin/env bash
# Runs this workspace's tests for aarch64 (NEON) under qemu-user, on an x86_64 Debian machine
# whose rustup has only the x86_64 target: Debian's rustc-web toolchain builds for aarch64
# against its multiarch arm64 std, and qemu-aarch64 runs the test binaries.
#
#   tools/cross_test.sh [--no-install] [CARGO TEST ARGS...]
#   e.g. tools/cross_test.sh -p ruvector-cnn-kernels --lib
#   tools/cross_test.sh [--no-install] --kbench [RVCNN-KBENCH ARGS...]
#   e.g. tools/cross_test.sh --kbench --ratios --model small --samples 3
#
# `--kbench` builds `rvcnn-kbench` (release) for aarch64 and runs it under qemu instead of
# testing: with `--ratios`, the speed of each NEON/dotprod kernel over the scalar one, per layer
# (emulated times are not native; only the ratios mean something).
#
# Default test selection (no args): the kernels crate's per-variant proptests on two emulated
# CPUs, cortex-a53 (no dot product: `neon` required) and `max` (`neon,neondot` required), then
# on `max` the cross-crate tests of dispatch levels, convolution algorithms and the f32 and
# INT8 models. With args, the runner's CPU is RVCNN_QEMU_CPU and RVCNN_REQUIRE_ISA is the
# caller's.
# Env: RVCNN_QEMU_CPU (args only; default `max`; `cortex-a53` is a CPU without dotprod),
#      RVCNN_CROSS_TARGET_DIR (default target/cross: Debian's rustc must not share a target
#      directory with rustup's, whatever CARGO_TARGET_DIR says).
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
if [ "${1:-}" = --no-install ]; then install=0; shift; fi
kbench=0
if [ "${1:-}" = --kbench ]; then kbench=1; shift; fi
if [ "$install" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  missing=()
  for p in rustc-web cargo-web gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! dpkg -s libstd-rust-web-dev:arm64 >/dev/null 2>&1; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq
    version=$(dpkg-query -W -f='${Version}' rustc-web)
    apt-get install -y -qq --no-install-recommends "libstd-rust-web-dev:arm64=$version" >/dev/null
  fi
fi

# Debian's cargo and rustc (rustup's proxies come first on PATH otherwise).
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_DIR="${RVCNN_CROSS_TARGET_DIR:-$PWD/target/cross}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# The qemu-user runner for CPU model $1. With the arm64 libc installed (multiarch), its loader
# must be the one used: adding `-L /usr/aarch64-linux-gnu` mixes two glibcs and hangs threads.
run_on() {
  local r="qemu-aarch64 -cpu $1"
  [ -e /lib/ld-linux-aarch64.so.1 ] || r="$r -L /usr/aarch64-linux-gnu"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$r"
}
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
cargo_test() { /usr/bin/cargo test --locked --target aarch64-unknown-linux-gnu "$@"; }
if [ "$kbench" = 1 ]; then
  /usr/bin/cargo build --locked --release --target aarch64-unknown-linux-gnu \
    -p ruvector-cnn-benches --bin rvcnn-kbench
  run_on "${RVCNN_QEMU_CPU:-max}"
  exec $CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER \
    "$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release/rvcnn-kbench" "$@"
fi
if [ $# -gt 0 ]; then
  run_on "${RVCNN_QEMU_CPU:-max}"
  cargo_test "$@"
  exit
fi
# Default: two CPU models, each with every level it has required (a skipped variant fails).
# cortex-a53 (ARMv8.0, no dot product): every f32 and baseline-NEON INT8 variant.
run_on cortex-a53
RVCNN_REQUIRE_ISA=neon cargo_test -p ruvector-cnn-kernels --lib
# max (has dotprod): the kernels again with the `neondot` INT8 variants, then dispatch levels,
# convolution algorithms, and the f32 and INT8 models.
run_on max
export RVCNN_REQUIRE_ISA=neon,neondot
cargo_test -p ruvector-cnn-kernels --lib
cargo_test -p ruvector-cnn-tests --test dispatch_levels --test conv_algorithms \
  --test model_golden --test int8_model
