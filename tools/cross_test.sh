#!/usr/bin/env bash
# Runs this workspace's tests for aarch64 (NEON) under qemu-user, on an x86_64 Debian machine
# whose rustup has only the x86_64 target: Debian's rustc-web toolchain builds for aarch64
# against its multiarch arm64 std, and qemu-aarch64 runs the test binaries.
#
#   tools/cross_test.sh [--no-install] [CARGO TEST ARGS...]
#   e.g. tools/cross_test.sh -p ruvector-cnn-kernels --lib
#
# Default test selection (no args): the kernels crate's per-variant proptests, and the
# cross-crate tests of dispatch levels, convolution algorithms and the golden models.
# Env: RVCNN_QEMU_CPU (default `max`; `cortex-a53` is a CPU without dotprod),
#      RVCNN_CROSS_TARGET_DIR (default target/cross: Debian's rustc must not share a target
#      directory with rustup's, whatever CARGO_TARGET_DIR says).
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
if [ "${1:-}" = --no-install ]; then install=0; shift; fi
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
runner="qemu-aarch64 -cpu ${RVCNN_QEMU_CPU:-max}"
# With the arm64 libc installed (multiarch), its loader must be the one used: adding
# `-L /usr/aarch64-linux-gnu` mixes two glibcs and hangs thread creation.
[ -e /lib/ld-linux-aarch64.so.1 ] || runner="$runner -L /usr/aarch64-linux-gnu"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$runner"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
if [ $# -eq 0 ]; then
  set -- -p ruvector-cnn-kernels --lib
  /usr/bin/cargo test --locked --target aarch64-unknown-linux-gnu "$@"
  set -- -p ruvector-cnn-tests --test dispatch_levels --test conv_algorithms --test model_golden
fi
exec /usr/bin/cargo test --locked --target aarch64-unknown-linux-gnu "$@"
