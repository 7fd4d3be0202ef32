# Sourced by the sanitizer and fuzzing scripts: `zcargo ARGS…` runs cargo with a toolchain
# that accepts `-Z` flags: the nightly toolchain when one is installed, else the default
# toolchain with RUSTC_BOOTSTRAP=1 (a fresh machine of this project's kind has only its one
# stable toolchain and cannot fetch another; stable ships the sanitizer runtimes for x86_64
# Linux). RVCNN_SAN_TOOLCHAIN=<name> picks a rustup toolchain, `default` the default one.
if [ -z "${RVCNN_SAN_TOOLCHAIN:-}" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    RVCNN_SAN_TOOLCHAIN=nightly
  else
    RVCNN_SAN_TOOLCHAIN=default
  fi
fi
export RUSTC_BOOTSTRAP=1
if [ "$RVCNN_SAN_TOOLCHAIN" = default ]; then
  zcargo_tc=()
else
  zcargo_tc=("+$RVCNN_SAN_TOOLCHAIN")
fi
echo "zcargo: toolchain $RVCNN_SAN_TOOLCHAIN ($(rustc "${zcargo_tc[@]}" -V))" >&2
zcargo() { cargo "${zcargo_tc[@]}" "$@"; }
# The rustup toolchain name behind zcargo (for `rustup component …`).
zcargo_toolchain() { rustc "${zcargo_tc[@]}" --print sysroot | xargs basename; }
