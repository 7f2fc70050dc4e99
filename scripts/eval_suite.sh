#!/usr/bin/env bash
# The eval suite in CI: every task's checks must fail on its repo/ and pass with its solution/,
# and the suite replayed from its cassettes must not fall below the committed baseline (a
# task whose success rate drops, or a negative control scoring a success, fails).
# Usage: scripts/eval_suite.sh DROVER SUITE BASELINE OUT
# Exits 77 (a skipped test for ctest) when the suite has no task or no baseline yet.
set -euo pipefail
drover=$1 suite=$2 baseline=$3 out=$4
if [ -z "$(find "$suite" -name task.yaml -print -quit 2>/dev/null)" ]; then
  echo "no eval tasks under $suite: skipped"
  exit 77
fi
"$drover" eval verify-tasks "$suite" --jobs 2 --out "$out/verify"
if [ ! -f "$baseline" ]; then
  echo "no baseline $baseline: run \`drover eval $suite --out DIR\`, read DIR/report.md, and" \
       "commit DIR/results.json as $baseline"
  exit 77
fi
"$drover" eval "$suite" --jobs 2 --baseline "$baseline" --out "$out/replay"
