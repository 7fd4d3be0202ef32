#!/usr/bin/env bash
# Runs the C tests of the C API (tests/c via tests/tests/c_api.rs) and the C example under
# valgrind memcheck: any invalid read/write, use of uninitialised memory or definite leak
# fails the run.
#   tools/valgrind-c.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite)
bin="$(cargo test -q -p ruvector-cnn-tests --test c_api --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*c_api[^"]*\)".*/\1/p' | tail -1)"
[ -x "$bin" ] || { echo "could not build the c_api test binary" >&2; exit 1; }
echo "valgrind: $bin"
"${vg[@]}" "$bin" --test-threads=1

cargo build -q --workspace   # as .ci/run builds it (a -p build would compile the kernels again)
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cc -std=c99 -O1 -g -Iinclude examples/c/embed.c "${CARGO_TARGET_DIR:-target}/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug/libruvector_cnn.a" -lpthread -ldl -lm \
  -o "$dir/embed"
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
for name, seed in (("a", 1), ("b", 2)):
    px = bytes((i * 31 + seed * 7919) % 253 for i in range(64 * 48 * 3))
    open(f"{d}/{name}.ppm", "wb").write(b"P6\n64 48\n255\n" + px)
PY
echo "valgrind: examples/c/embed.c"
"${vg[@]}" "$dir/embed" "$dir/a.ppm" "$dir/b.ppm" model/tests/fixtures/mobilenet_v3_small.safetensors
echo "valgrind: clean"
