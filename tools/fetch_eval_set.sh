#!/usr/bin/env bash
# Builds the labelled natural-image evaluation set used for `rvcnn eval` numbers: the photo
# stamps of Debian's tuxpaint-stamps-default (GPL-2+, so fetched here, never committed),
# one class per stamp folder.
#
#   tools/fetch_eval_set.sh [DEST]          (default DEST: /tmp/rvcnn-eval/tuxpaint)
#   cargo run --release -p rvcnn -- eval /tmp/rvcnn-eval/tuxpaint
#
# Selection: PNG stamps under /usr/share/tuxpaint/stamps, excluding `cartoon` folders
# (drawings) and `symbols` (letters, signs, coins); the class is the stamp's folder path
# (e.g. animals_birds); folders with fewer than 2 images are dropped. Needs apt-get (no root:
# `apt-get download` + `dpkg -x`).
set -euo pipefail
dest="${1:-/tmp/rvcnn-eval/tuxpaint}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download tuxpaint-stamps-default >/dev/null 2>&1 || {
  apt-get update -qq && apt-get download tuxpaint-stamps-default >/dev/null
}
dpkg -x tuxpaint-stamps-default_*.deb x
root=x/usr/share/tuxpaint/stamps
rm -rf "$dest"
mkdir -p "$dest"
find "$root" -name '*.png' | grep -v -e '/cartoon/' -e '/symbols/' | sort | while read -r f; do
  rel="${f#"$root"/}"
  class="$(dirname "$rel" | tr '/' '_')"
  mkdir -p "$dest/$class"
  cp "$f" "$dest/$class/"
done
for d in "$dest"/*/; do
  [ "$(find "$d" -name '*.png' | wc -l)" -ge 2 ] || rm -rf "$d"
done
echo "$dest: $(find "$dest" -name '*.png' | wc -l) images in $(ls "$dest" | wc -l) classes"
