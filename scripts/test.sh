#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, and runs the whole test
# suite (unit tests per module, end-to-end tests of the drover binary, the include check).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build-test}

"$root/scripts/setup.sh"
BUILD_DIR=$build_dir BUILD_TYPE=Debug "$root/scripts/build.sh" -DDROVER_WERROR=ON
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 600
