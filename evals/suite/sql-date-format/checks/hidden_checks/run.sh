#!/bin/sh
# Runs every case in cases/ beside this script: loads fixture.sql and the repository's
# views/*.sql into a fresh in-memory database, runs the case's query and compares the output
# with the case's .expected file. Run from the repository root.
set -u
dir=$(dirname "$0")
passed=0
failed=0
for case in "$dir"/cases/*.sql; do
  name=$(basename "$case" .sql)
  actual=$(cat "$dir/fixture.sql" views/*.sql "$case" | sqlite3 -bail -batch 2>&1)
  if [ "$actual" = "$(cat "$dir/cases/$name.expected")" ]; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    echo "--- expected"
    cat "$dir/cases/$name.expected"
    echo "--- actual"
    echo "$actual"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
