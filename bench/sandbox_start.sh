#!/usr/bin/env bash
# Start-to-exit time of `true` in drover's sandbox against bubblewrap, on this machine, in the
# same run: `drover __sandbox` and the slim `drover-sandbox` beside it, the median of RUNS runs
# each (taken in turns, so that load on the machine falls on all alike), and their ratios to
# bwrap (goal: <= 1.0, and < 5 ms added over plain `true`).
# Usage: bench/sandbox_start.sh [DROVER_BINARY] [RUNS]   (needs bwrap: apt-get install bubblewrap)
set -euo pipefail

drover=${1:-build/cli/drover}
runs=${2:-50}
helper=$(dirname "$drover")/drover-sandbox
command -v bwrap >/dev/null || { echo "bwrap not found (Debian package bubblewrap)" >&2; exit 2; }
[ -x "$drover" ] || { echo "$drover: not an executable" >&2; exit 2; }
workspace=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$workspace" "$out"' EXIT
policy="{\"workspace\":\"$workspace\"}"
true_bin=$(command -v true)

run_true() { "$true_bin"; }
run_drover_helper_mode() { "$drover" __sandbox "$policy" -- "$true_bin"; }
run_bwrap() { bwrap --unshare-all --die-with-parent --ro-bind / / "$true_bin"; }
run_drover_sandbox() { "$helper" "$policy" -- "$true_bin"; }
names=(true drover_helper_mode bwrap)
if [ -x "$helper" ]; then
  names+=(drover_sandbox)
else
  echo "note: $helper not found; measuring drover __sandbox only" >&2
fi

# Warm the page cache, and fail early when one of them does not work here.
for name in "${names[@]}"; do
  "run_$name" >/dev/null || { echo "failed: $name" >&2; exit 1; }
done

# Appends the wall time in microseconds of each to $out/NAME, one run of each per turn.
for ((i = 0; i < runs; i++)); do
  for name in "${names[@]}"; do
    start=$(date +%s%N)
    "run_$name" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000)) >>"$out/$name"
  done
done

median() { sort -n "$out/$1" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
plain=$(median true)
theirs=$(median bwrap)
ours=$(median drover_helper_mode)
echo "runs each:              $runs"
echo "true (no sandbox):      $plain us"
echo "bwrap --unshare-all:    $theirs us"
report() {  # LABEL MICROSECONDS
  awk -v l="$1" -v o="$2" -v t="$theirs" -v p="$plain" \
    'BEGIN {printf "%-23s %d us   ratio to bwrap %.2f   added over true %.2f ms\n", l ":", o, o / t, (o - p) / 1000}'
}
report "drover __sandbox" "$ours"
if [ -f "$out/drover_sandbox" ]; then report "drover-sandbox" "$(median drover_sandbox)"; fi
