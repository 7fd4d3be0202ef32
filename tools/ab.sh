#!/usr/bin/env bash
# Alternating A/B timing of whole-model runs on a noisy machine: runs each labelled command
# once per round, ROUNDS rounds, and prints per label the minimum and the median of the
# `median_ms` values its runs printed (the JSON line of rvcnn-mbench).
#   tools/ab.sh ROUNDS 'LABEL:COMMAND' ['LABEL:COMMAND' ...]
# e.g. tools/ab.sh 8 "old:taskset -c 1 /tmp/mb-old --weights v3l.safetensors --runs 150" \
#                    "new:taskset -c 1 target/release/rvcnn-mbench --weights v3l.safetensors --runs 150"
set -euo pipefail
if [ $# -lt 2 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
rounds=$1
shift
declare -A times
for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    label=${spec%%:*}
    ms=$(bash -c "${spec#*:}" 2>&1 | grep -o '"median_ms":[0-9.]*' | tail -1 | cut -d: -f2)
    if [ -z "$ms" ]; then
      echo "ab.sh: '$label' printed no median_ms" >&2
      exit 1
    fi
    times[$label]="${times[$label]:-} $ms"
  done
done
for spec in "$@"; do
  label=${spec%%:*}
  # shellcheck disable=SC2086
  printf '%s\n' ${times[$label]} | sort -n | awk -v l="$label" \
    '{a[NR]=$1} END {printf "%s: min %.4f ms, median %.4f ms (%d runs)\n", l, a[1], a[int((NR+1)/2)], NR}'
done
