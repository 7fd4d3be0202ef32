#!/usr/bin/env bash
# Builds libruvector_cnn (release) and installs the header, the static and shared libraries
# and a pkg-config file under PREFIX (default /usr/local):
#   tools/install-capi.sh [PREFIX]
#   cc app.c $(pkg-config --cflags --libs ruvector_cnn)          # shared
#   cc app.c $(pkg-config --cflags --libs --static ruvector_cnn) # static (-l picks .so first;
#                                                                  pass the .a path to force it)
# With a non-system PREFIX, add PREFIX/lib/pkgconfig to PKG_CONFIG_PATH and PREFIX/lib to
# LD_LIBRARY_PATH (or rpath) for the shared library.
# Env: RVCNN_PROFILE (default release; `debug` installs the dev build), RVCNN_NO_BUILD=1
# installs the libraries already built instead of running cargo (the C example test does:
# a `-p` build would resolve the workspace's features differently and compile it all again).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
profile="${RVCNN_PROFILE:-release}"
flag=(); [ "$profile" = release ] && flag=(--release)
[ "${RVCNN_NO_BUILD:-0}" = 1 ] || cargo build -q "${flag[@]}" -p ruvector-cnn-capi
lib="${CARGO_TARGET_DIR:-target}/$profile"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
install -Dm644 include/ruvector_cnn.h "$prefix/include/ruvector_cnn.h"
install -Dm644 "$lib/libruvector_cnn.a" "$prefix/lib/libruvector_cnn.a"
install -Dm755 "$lib/libruvector_cnn.so" "$prefix/lib/libruvector_cnn.so"
mkdir -p "$prefix/lib/pkgconfig"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" capi/ruvector_cnn.pc.in \
  > "$prefix/lib/pkgconfig/ruvector_cnn.pc"
echo "installed libruvector_cnn $version under $prefix"
