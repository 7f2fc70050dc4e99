// Proposes build, test and lint verifiers for a repository from its CI configuration and the
// files at its top level (pom.xml, package.json, go.mod, Makefile, ...), without running
// anything.
// Thread-safe: a pure function of the files it reads.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "verifiers/verifier.h"

namespace drover::verifiers {

enum class VerifierKind { kBuild, kTest, kLint };

// "build", "test", "lint": also the name a detected verifier of that kind gets, so that a
// spec's or a .drover.yml's verifier of the same name replaces it.
std::string_view VerifierKindName(VerifierKind kind);

struct DetectedVerifier {
  VerifierSpec spec;  // spec.name is VerifierKindName(kind).
  VerifierKind kind = VerifierKind::kTest;
  // The evidence, e.g. "pom.xml", "package.json scripts.test, yarn.lock" or
  // "from .github/workflows/ci.yml line 23 (job unit)".
  std::string why;
};

// At most one verifier per kind, in the order build, test, lint.
//
// Ecosystems, each read from the top level of `repo` only (nested modules and monorepo
// workspaces are not looked into; their root build usually drives them):
//   Make    Makefile/makefile/GNUmakefile: `make -s` when there is an `all` target or the first
//           target is not test/check/lint/clean; `make -s test` (else `check`); `make -s lint`.
//   Gradle  build.gradle(.kts)/settings.gradle(.kts): gradlew when present, else gradle;
//           `--no-daemon -q assemble` and `--no-daemon -q test`.
//   Maven   pom.xml: mvnw when present, else mvn; `-B -q test-compile` and `-B -q test`.
//   Cargo   Cargo.toml: `cargo build -q --all-targets`, `cargo test -q`.
//   Go      go.mod: `go build ./...`, `go test ./...`, lint `go vet ./...`.
//   CMake   CMakeLists.txt: configure and build in `build/` inside the repository; a test
//           verifier (configure, build, ctest) only when it enables testing (enable_testing or
//           CTest).
//   Node    package.json: its scripts build, test and lint, those that exist (not npm's
//           placeholder test script), run by pnpm, yarn or npm as chosen by the lock file
//           (pnpm-lock.yaml, yarn.lock, else npm).
//   Python  pytest.ini or conftest.py, or "pytest" in pyproject.toml, setup.cfg, tox.ini or
//           requirements*.txt: `python3 -m pytest -q`; otherwise, when test_*.py/*_test.py
//           files or a tests/ or test/ directory exist: unittest discovery.
//   CI      .github/workflows/*.yml|yaml `run:` steps, .gitlab-ci.yml `script:`, tox.ini
//           testenv `commands`, noxfile.py `session.run("...")` with literal arguments. Lines
//           that need the network, secrets or privileges, and programs not known, are left
//           out; the test check is a job's steps up to its first test-runner line (each step in
//           a subshell from the root, in its working-directory), the build check up to the last
//           build line before it. `uses:` actions and includes are never followed; at most 32
//           workflow files of at most 256 KiB each are read.
// Precedence: for each kind the strongest proposal wins, ties going to the earlier source in
// the order above: a CI line running a known test runner; any other CI line; a Makefile
// target whose recipe runs a known runner or builds; an ecosystem's own tool; last, a Makefile
// test target whose recipe runs no known test runner (a demo). A Makefile target that
// installs, downloads or needs root is no check at all. When the CI yields any check, lints
// from other sources are left out (the CI does not hold the project to them).
// No network flags are added (no --offline, no -o): with dependencies already cached, these
// tools do not reach the network; with the spec's allow_hosts they may fetch.
//
// Marker files are read without following symlinks (a symlink is ignored, as if absent), so a
// repository cannot point detection at files outside it. Unreadable or malformed files (a
// package.json that does not parse) propose nothing. An empty result means nothing was found.
std::vector<DetectedVerifier> DetectVerifiers(const std::filesystem::path& repo);

// How a repository's dependencies are installed before its checks run (the `setup` step).
struct DetectedSetup {
  std::vector<std::string> commands;  // Run in order, each by `/bin/sh -c` in the root.
  // The registries those commands reach ("registry.npmjs.org", "pypi.org", ...).
  std::vector<std::string> hosts;
  // Files whose contents decide what gets installed (lock files, requirement lists), relative
  // to the root: the set-up's cache is keyed by them.
  std::vector<std::string> inputs;
  std::string why;  // "package-lock.json", "pyproject.toml test extras", ...
};

// The set-up for each ecosystem found at the top level (several may apply):
//   Node    package-lock.json/npm-shrinkwrap.json: `npm ci`; yarn.lock: `yarn install
//           --frozen-lockfile`; pnpm-lock.yaml: `pnpm install --frozen-lockfile`. A
//           package.json without a lock file installs nothing (not reproducible).
//   Python  requirements*.txt / requirements/*.txt for tests and development, and
//           pyproject.toml's [project] dependencies and its test/tests/testing/dev extras:
//           `pip install --target "$DROVER_DEPS/python"` (the project itself is not installed:
//           its checks must run the workspace's code).
//   Go      go.mod: `go mod download`.     Cargo   Cargo.toml: `cargo fetch`.
//   Maven   pom.xml: `dependency:go-offline`.  Gradle  build.gradle(.kts): `dependencies`.
// The commands keep what they fetch under $DROVER_DEPS (SetupEnvironment). Empty when nothing
// is found. Reads marker files as DetectVerifiers does (no symlinks).
DetectedSetup DetectSetup(const std::filesystem::path& repo);

// The environment that points every ecosystem's tools at `deps_dir` (package caches, the
// Python target directory on PYTHONPATH and its bin/ on PATH before `path`): set for the
// set-up and for every check and agent command that follows it.
std::map<std::string, std::string> SetupEnvironment(const std::filesystem::path& deps_dir,
                                                    const std::string& path);

// {"name","command","timeout_seconds","kind","why"}.
Json ToJson(const DetectedVerifier& detected);

}  // namespace drover::verifiers
