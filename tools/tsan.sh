#!/usr/bin/env bash
# ThreadSanitizer (nightly, std rebuilt with -Zbuild-std) over the concurrent paths: the
# shared-embedder stress test (tests/tests/concurrency.rs, RVCNN_STRESS_SECS, default here
# 10 s), the thread pool and split-convolution tests of the kernels, and the C API tests
# (four C threads on one embedder). Any data race fails the run.
#   tools/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(rustc -vV | sed -n 's/^host: //p')"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component list --toolchain nightly --installed | grep -q rust-src ||
  rustup component add rust-src --toolchain nightly
export RUSTFLAGS="-Zsanitizer=thread ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
export RVCNN_STRESS_SECS="${RVCNN_STRESS_SECS:-10}"
export RVCNN_PROPTEST_CASES="${RVCNN_PROPTEST_CASES:-16}"
tsan_test() {
  cargo +nightly test -Zbuild-std --target "$target" --target-dir target/tsan "$@"
}
tsan_test -p ruvector-cnn-tests --test concurrency --test c_api
tsan_test -p ruvector-cnn-kernels --lib -- parallel::
