#!/usr/bin/env bash
# Installs drover's build and test dependencies from Debian packages (Debian 12).
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates python3 make
  libgit2-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libyaml-cpp-dev libsqlite3-dev libcli11-dev libgtest-dev libgmock-dev libseccomp-dev
  libtree-sitter-dev universal-ctags libssl-dev
  # A CommonMark renderer with GitHub's extensions: the tests render PR bodies with it.
  cmark-gfm
  # Toolchains of the eval suite's consumer repositories (Python, Java, JS/TS, Go, C++, SQL).
  default-jdk-headless golang-go sqlite3 node-typescript
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm is only needed by tests that fetch recorded API traffic (@octokit/fixtures) from the npm
# registry at test time; they skip, saying why, without it. Installed when no npm is on PATH,
# and a failure to install it does not stop the set-up.
want_npm=0
command -v npm >/dev/null || want_npm=1
if [ ${#missing[@]} -eq 0 ] && [ "$want_npm" -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    if [ ${#missing[@]} -eq 0 ]; then exit 0; fi  # Only the optional npm: not worth failing.
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo="sudo"
fi
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
if [ "$want_npm" -eq 1 ]; then
  echo "setup: installing npm (optional)" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm \
    >/dev/null || echo "setup: npm could not be installed; the tests that need it will skip" >&2
fi
