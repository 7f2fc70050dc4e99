#!/usr/bin/env bash
# Fuzzes the verifiers' log parsers with libFuzzer (ASan + UBSan), seeded with the fixture logs.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]   (targets: fuzz_distill, fuzz_gcc, ...)
# Each target runs SECONDS with -max_len=65536, then SECONDS/4 (at least 10) with
# -max_len=1048576 and ~1 MiB seeds, to catch quadratic blowups. Exits 1 on any crash, timeout,
# leak or OOM and prints the reproducer path; replay one with `build-fuzz/fuzz/TARGET FILE`.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build parallelism, default 2).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
build_dir="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-2}"
# libstdc++ 12's std::expected needs clang >= 16 (see fuzz/CMakeLists.txt); Debian 12 has 16.
clang_version=16
packages=(cmake ninja-build "clang-$clang_version" "libclang-rt-$clang_version-dev")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "fuzz: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "fuzz: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

"$root/scripts/setup.sh"
CC="clang-$clang_version" CXX="clang++-$clang_version" cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVER_FUZZ=ON -DDROVER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j"$jobs" --target fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$build_dir"/fuzz/fuzz_*; do
    [ -x "$f" ] && targets+=("$(basename "$f")")
  done
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts" "$work/seeds" "$work/large"

# Seeds: every fixture log, named after its case so that a crash on one is easy to place.
while IFS= read -r -d '' log; do
  name="$(realpath --relative-to="$root/tests/fixtures/logs" "$(dirname "$log")" | tr / _)"
  cp "$log" "$work/seeds/$name"
done < <(find "$root/tests/fixtures/logs" -name output.txt -print0)
# Large seeds: the fixtures repeated to ~1 MiB, and one ~1 MiB line of markers.
for _ in $(seq 40); do cat "$work"/seeds/*; done | head -c 1000000 >"$work/large/all_fixtures" ||
  true
yes 'src/a.cc:1:2: error: FAILED Traceback --> panic: not ok ● ' | tr -d '\n' |
  head -c 1000000 >"$work/large/one_line" || true

# UBSan findings abort with a stack, so that libFuzzer keeps the input and the log names the line.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
large_seconds=$((seconds / 4 > 10 ? seconds / 4 : 10))
failed=0
summary=()
for t in "${targets[@]}"; do
  corpus="$work/corpus-$t"
  mkdir -p "$corpus"
  for pass in normal large; do
    if [ "$pass" = normal ]; then
      flags=(-max_len=65536 -max_total_time="$seconds")
      seeds=("$work/seeds")
    else
      flags=(-max_len=1048576 -len_control=0 -max_total_time="$large_seconds")
      seeds=("$work/large")
    fi
    log="$work/$t-$pass.log"
    echo "fuzz: $t ($pass)" >&2
    set +e
    "$build_dir/fuzz/$t" "$corpus" "${seeds[@]}" "${flags[@]}" -timeout=5 -rss_limit_mb=2048 \
      -dict="$root/fuzz/logs.dict" -artifact_prefix="$artifacts/$t-" -print_final_stats=1 \
      >"$log" 2>&1
    rc=$?
    set -e
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    slowest="$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -1)"
    summary+=("$t $pass: ${execs:-?} runs, ${speed:-?} exec/s, slowest ${slowest:-?} s, corpus \
$(ls "$corpus" | wc -l) files")
    if [ $rc -ne 0 ]; then
      failed=1
      grep -E "ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error|SUMMARY" "$log" | head -5 >&2
      reproducer="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
      echo "fuzz: $t failed (exit $rc); reproducer: ${reproducer:-see log}" >&2
      cp "$log" "$artifacts/$t-$pass.log"
      echo "fuzz: log kept at $artifacts/$t-$pass.log" >&2
      break
    fi
  done
done

printf '%s\n' "${summary[@]}"
exit $failed
