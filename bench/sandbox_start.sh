#!/usr/bin/env bash
# Start-to-exit time of `true` in drover's sandbox against bubblewrap, on this machine, in the
# same run: the median of RUNS runs each, and the ratio (goal: <= 1.0, and < 5 ms added).
# Usage: bench/sandbox_start.sh [DROVER_BINARY] [RUNS]   (needs bwrap: apt-get install bubblewrap)
set -euo pipefail

drover=${1:-build/cli/drover}
runs=${2:-50}
command -v bwrap >/dev/null || { echo "bwrap not found (Debian package bubblewrap)" >&2; exit 2; }
workspace=$(mktemp -d)
trap 'rm -rf "$workspace"' EXIT
policy="{\"workspace\":\"$workspace\"}"
true_bin=$(command -v true)

# Prints the median wall time in microseconds of running "$@" $runs times.
median_us() {
  local times=() start end
  for ((i = 0; i < runs; i++)); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

# Warm the page cache for both before measuring.
"$drover" __sandbox "$policy" -- "$true_bin"
bwrap --unshare-all --die-with-parent --ro-bind / / "$true_bin"

plain=$(median_us "$true_bin")
ours=$(median_us "$drover" __sandbox "$policy" -- "$true_bin")
theirs=$(median_us bwrap --unshare-all --die-with-parent --ro-bind / / "$true_bin")
echo "runs each:            $runs"
echo "true (no sandbox):    $plain us"
echo "drover __sandbox:     $ours us"
echo "bwrap --unshare-all:  $theirs us"
awk -v o="$ours" -v t="$theirs" -v p="$plain" \
  'BEGIN {printf "ratio drover/bwrap:   %.2f\nadded by drover:      %.2f ms\n", o / t, (o - p) / 1000}'
