#!/usr/bin/env bash
# Fashion-MNIST (MIT) from Debian's dataset-fashion-mnist package, unpacked to plain IDX files
# for `rvcnn train` / `rvcnn eval` (fetched, never committed; tests do not need it). Needs
# apt-get but no root (`apt-get download` + `dpkg -x`).
#   tools/fetch_fashion_mnist.sh [DEST]        default DEST: /tmp/rvcnn-fashion-mnist
set -euo pipefail
dest="${1:-/tmp/rvcnn-fashion-mnist}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download dataset-fashion-mnist >/dev/null 2>&1 || {
  apt-get update -qq && apt-get download dataset-fashion-mnist >/dev/null
}
dpkg -x dataset-fashion-mnist_*.deb root
src=root/usr/share/datasets/fashion-mnist
mkdir -p "$dest"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gunzip -c "$src/$f.gz" > "$dest/$f"
done
ls -l "$dest"
