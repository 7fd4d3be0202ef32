#!/usr/bin/env bash
# Builds the WebAssembly package: pkg/ (SIMD128 kernels) and pkg-scalar/ (no SIMD128, for
# engines without it), each the wasm-bindgen `web` target (ES module; in Node, call
# `initSync({ module: bytes })`). Needs Debian's rustc-web, rust-web-src and lld-22
# (tools/cross_test.sh --only wasm installs them) and wasm-bindgen-cli of the same version
# as the wasm-bindgen crate (installed under target/bindings/tools on first use).
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cross=${RVCNN_CROSS_TARGET_DIR:-$target/cross}
version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
bindgen=$target/bindings/tools/bin/wasm-bindgen
if ! "$bindgen" --version 2>/dev/null | grep -q "$version"; then
  echo "build.sh: installing wasm-bindgen-cli $version (once)"
  # Only the `wasm-bindgen` binary, without the test runner's TLS stack (rustls + ring), and
  # a quick profile: it only rewrites one module, and compiling it dominated this lane.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install -q wasm-bindgen-cli --version "$version" --no-default-features \
    --bin wasm-bindgen --root "$target/bindings/tools"
fi
# RVCNN_WASM_QUICK=1 (the CI lane): opt-level 1, no LTO and 16 codegen units — the same
# code, built in less time (and run slower); the sizes printed are then not the release sizes.
quick=""
if [ "${RVCNN_WASM_QUICK:-0}" = 1 ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  quick=" (quick build, not the release size)"
fi
for variant in simd scalar; do
  flags="-C strip=debuginfo"
  dir=$cross/wasm-bindgen
  out=pkg
  if [ $variant = simd ]; then flags="$flags -C target-feature=+simd128"; else dir=$dir-scalar; out=pkg-scalar; fi
  CARGO_TARGET_DIR=$dir RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" \
    /usr/bin/cargo build -q --locked --release --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort -p ruvector-cnn-wasm
  "$bindgen" --target web --out-dir $out "$dir/wasm32-unknown-unknown/release/ruvector_cnn_wasm.wasm"
  echo "build.sh: $out/ruvector_cnn_wasm_bg.wasm $(stat -c %s $out/ruvector_cnn_wasm_bg.wasm) bytes$quick"
done
