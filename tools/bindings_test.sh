#!/usr/bin/env bash
# Builds the language bindings (bindings/) and tests each against the Rust CLI's vectors.
#   tools/bindings_test.sh [--only python|node|wasm] [--browser]
# --browser also loads the WASM example page in headless Chromium (installs Debian's
# chromium, ~300 MB; not part of .ci/run) and embeds two images through its file inputs.
# Reference vectors: `rvcnn embed bindings/testdata` (lossless PNGs) with the pretrained default and with the
# MobileNetV3-Small fixture weights, written to $RVCNN_REF_DIR (target/bindings-ref). Each
# lane installs what it needs on first use (PyPI / npm / crates.io / Debian), under target/.
# Needs the pretrained weights in the cache (`rvcnn fetch`, done by .ci/run's setup step).
# Env: RVCNN_SKIP_RAY=1 skips installing ray and its example test (~150 MB of wheels);
#      RVCNN_WASM_QUICK=0 builds the WASM packages with the release profile's LTO (default
#      here 1: the same code at opt-level 1 without LTO, in less time).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/step.sh
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
only=all browser=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --browser) browser=1; shift ;;
    *) echo "usage: $0 [--only python|node|wasm] [--browser]" >&2; exit 2 ;;
  esac
done
lane() { [ "$only" = all ] || [ "$only" = "$1" ]; }

# The host triple named, as .ci/run does (napi and maturin pass it anyway): one artifact set.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
rvcnn=$target/$CARGO_BUILD_TARGET/debug/rvcnn
export RVCNN_REF_DIR=$target/bindings-ref
mkdir -p "$RVCNN_REF_DIR"
cargo build -q --locked --workspace   # as .ci/run builds it: no second compile of the kernels
"$rvcnn" embed bindings/testdata --out "$RVCNN_REF_DIR/default.jsonl"
"$rvcnn" embed bindings/testdata --out "$RVCNN_REF_DIR/v3small.jsonl" \
  --weights model/tests/fixtures/mobilenet_v3_small.safetensors

if lane python; then
  echo "bindings: python (PyO3 + maturin)"
  venv=$target/bindings/py-venv
  [ -x "$venv/bin/python" ] ||
    python3 -m venv "$venv" || { apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv"; }
  pkgs=(maturin numpy pillow pytest)
  # The Ray Data example's test (2 local workers) needs ray; RVCNN_SKIP_RAY=1 leaves it out
  # (the test then SKIPs) — otherwise it is required, so it cannot skip silently.
  if [ "${RVCNN_SKIP_RAY:-0}" = 1 ]; then export RVCNN_REQUIRE_RAY=0; else pkgs+=("ray[data]==2.60.0"); export RVCNN_REQUIRE_RAY=1; fi
  step "$venv/bin/pip" install -q "${pkgs[@]}"
  (cd bindings/python && VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH step maturin develop -q)
  step "$venv/bin/python" -m pytest -q bindings/python/tests
fi

if lane node; then
  echo "bindings: node (napi-rs)"
  command -v npm >/dev/null || { apt-get install -y -qq nodejs npm >/dev/null; }
  (
    cd bindings/node
    [ -x node_modules/.bin/napi ] || step npm ci --no-audit --no-fund --loglevel=error
    step npx napi build --platform   # the addon, index.js and the generated index.d.ts
    step node --test test/
  )
fi

if lane wasm; then
  echo "bindings: wasm (wasm-bindgen; SIMD128 and scalar builds)"
  step tools/cross_test.sh --only wasm --install-only   # Debian rustc-web, rust-web-src, lld-22
  export RVCNN_PRETRAINED
  RVCNN_PRETRAINED=$("$rvcnn" fetch --print-path)
  (
    cd bindings/wasm
    export RVCNN_WASM_QUICK=${RVCNN_WASM_QUICK:-1}   # opt-level 1, no LTO: see build.sh
    step ./build.sh
    [ -d node_modules/playwright-core ] || step npm ci --no-audit --no-fund --loglevel=error
    step node --test test/
    if [ "$browser" = 1 ]; then
      command -v chromium >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
      node browser-check.mjs
    fi
  )
fi
