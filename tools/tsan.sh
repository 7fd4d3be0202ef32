#!/usr/bin/env bash
# ThreadSanitizer over the concurrent paths: the shared-embedder stress test
# (tests/tests/concurrency.rs, RVCNN_STRESS_SECS, default here 10 s), the thread pool and
# split-convolution tests of the kernels, and the C API tests (four C threads on one
# embedder). Any data race fails the run. std is rebuilt instrumented (-Zbuild-std), which
# needs the toolchain's rust-src (tools/zcargo.sh picks the toolchain).
#   tools/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/zcargo.sh
unset CARGO_BUILD_TARGET
target="$(rustc -vV | sed -n 's/^host: //p')"
tc=$(zcargo_toolchain)
if ! rustup component list --toolchain "$tc" --installed | grep -q rust-src &&
  ! rustup component add rust-src --toolchain "$tc"; then
  echo "tsan.sh: ThreadSanitizer needs std rebuilt (-Zbuild-std), i.e. the rust-src" \
    "component of the $tc toolchain, which is not installed and cannot be fetched here" >&2
  exit 1
fi
export RUSTFLAGS="-Zsanitizer=thread ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}"
export RVCNN_STRESS_SECS="${RVCNN_STRESS_SECS:-10}"
export RVCNN_PROPTEST_CASES="${RVCNN_PROPTEST_CASES:-16}"
tsan_test() {
  zcargo test -Zbuild-std --target "$target" --target-dir "${CARGO_TARGET_DIR:-target}/tsan" "$@"
}
tsan_test -p ruvector-cnn-tests --test concurrency --test c_api
tsan_test -p ruvector-cnn-kernels --lib -- parallel::
