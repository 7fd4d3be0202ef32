#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, AddressSanitizer; tools/zcargo.sh picks a
# toolchain that takes -Z flags) of every target in fuzz/fuzz_targets (bodies in
# tests/src/fuzz): weights (safetensors), torch_legacy (legacy PyTorch pickles), image
# (PNG/JPEG decode + preprocess), preprocess (raw pixels of any size/stride/format), ops
# (every Rust operator's validation and run), capi (C API operators and embedder creation
# from memory).
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default 60 s, every target
#   tools/fuzz.sh --quick [SECONDS] [TARGET...]         smoke pass (.ci/run's lane):
#       the fuzz workspace's dev profile (opt-level 1), scalar kernels only, new inputs kept
#       out of the tree
#   tools/fuzz.sh --minimize                            shrink fuzz/corpus/* (cargo fuzz cmin)
# New coverage lands in fuzz/corpus/<target> (commit it after --minimize); a crash stops that
# target, leaves its input in fuzz/artifacts/<target>/ and fails the script — fix the bug,
# then copy the input to fuzz/regressions/<target>/ so tests/tests/fuzz_corpus.rs replays it
# on stable forever. Prints executions per target (the README's counts come from here).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/zcargo.sh
unset CARGO_BUILD_TARGET
command -v cargo-fuzz >/dev/null || cargo install -q --locked cargo-fuzz
all=(weights torch_legacy image preprocess ops capi)
if [ "${1:-}" = --minimize ]; then
  for t in "${all[@]}"; do zcargo fuzz cmin -s address "$t" "fuzz/corpus/$t"; done
  exit 0
fi
build=()
if [ "${1:-}" = --quick ]; then
  # The kernels crate's scalar kernels only (`--cfg rvcnn_portable_only`): the targets check
  # parsing, validation and the C boundary, which do not depend on the ISA; every SIMD
  # variant runs under ASan in tools/asan.sh. This cuts the instrumented build by minutes.
  build=(--dev)
  export RUSTFLAGS="--cfg rvcnn_portable_only ${RUSTFLAGS:-}"
  shift
fi
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
rc=0
summary=()
for t in "${targets[@]}"; do
  log=$(mktemp)
  dirs=("fuzz/corpus/$t")
  # Quick: libFuzzer writes new inputs to its first corpus directory; keep them in a
  # temporary one (removed below).
  [ ${#build[@]} -eq 0 ] || dirs=("$(mktemp -d)" "fuzz/corpus/$t")
  if zcargo fuzz run "${build[@]}" -s address "$t" "${dirs[@]}" -- \
      -max_total_time="$secs" -rss_limit_mb=4096 -max_len=65536 -timeout=30 \
      -print_final_stats=1 > "$log" 2>&1; then
    status=ok
  else
    status="CRASH (input in fuzz/artifacts/$t/)"; rc=1
    tail -40 "$log"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  summary+=("$t: ${runs:-?} executions in ${secs}s, ${cov:-cov: ?}, corpus $(ls "fuzz/corpus/$t" | wc -l) files: $status")
  rm -f "$log"
  [ ${#dirs[@]} -eq 1 ] || rm -rf "${dirs[0]}"
done
printf 'fuzz: %s\n' "${summary[@]}"
exit $rc
