# Sourced by the sanitizer and fuzzing scripts: `zcargo ARGS…` runs cargo with a toolchain
# that accepts `-Z` flags. That is the nightly toolchain when one is installed, else the
# stable one with RUSTC_BOOTSTRAP=1 (a fresh machine of this project's kind has only stable
# and cannot fetch another; stable ships the sanitizer runtimes for x86_64 Linux).
# RVCNN_SAN_TOOLCHAIN=stable|nightly picks one.
if [ -z "${RVCNN_SAN_TOOLCHAIN:-}" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    RVCNN_SAN_TOOLCHAIN=nightly
  else
    RVCNN_SAN_TOOLCHAIN=stable
  fi
fi
export RUSTC_BOOTSTRAP=1
echo "zcargo: toolchain $RVCNN_SAN_TOOLCHAIN ($(rustc "+$RVCNN_SAN_TOOLCHAIN" -V))" >&2
zcargo() { cargo "+$RVCNN_SAN_TOOLCHAIN" "$@"; }
