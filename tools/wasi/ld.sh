#!/usr/bin/env bash
# wasm-ld for wasm32-wasip1 against Debian's wasi-libc (rustc links with
# -C link-self-contained=no, so the C runtime's start file is not added for it): programs
# (test binaries) get crt1-command.o; libraries (cdylib: `--no-entry`) do not.
for a in "$@"; do
  [ "$a" = --no-entry ] && exec wasm-ld-22 "$@"
done
exec wasm-ld-22 "$@" /usr/lib/wasm32-wasi/crt1-command.o
