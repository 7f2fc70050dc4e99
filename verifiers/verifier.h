// Verifier specs (a named shell command judged by its exit status), running them through a
// ProcessRunner in a workspace, and the report handed to the model and the PR.
// Thread-safe: free functions over value types.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "sandbox/process.h"
#include "verifiers/diagnostics.h"
#include "verifiers/test_evidence.h"

namespace drover::verifiers {

struct VerifierSpec {
  std::string name;     // "build", "test", ...
  std::string command;  // Run as `/bin/sh -c command` in the workspace root.
  std::chrono::seconds timeout{600};
  // Whether the output must show tests that ran (verifiers/test_evidence.h). Unset: only when
  // the baseline's showed some, and then at least those. false: never (a build or lint
  // check, or a runner drover cannot read). true: always, and at least the baseline's.
  std::optional<bool> require_test_evidence;
};

struct VerifierResult {
  std::string name;
  std::string command;
  bool passed = false;
  std::string outcome;      // ProcessResult::Describe(), e.g. "exit 1".
  std::chrono::milliseconds duration{0};
  std::string distilled;    // Short text for the model: parsed diagnostics, else error lines + tail.
  // Failures only: the cause in one line (FirstErrorLine), "" when the output shows none.
  std::string first_error;
  std::string output;       // Head/tail-truncated full output.
  std::vector<Diagnostic> diagnostics;  // What the parsers recognised (failures only).
  // Baseline only: it failed, then passed when run again at once; it is not held against
  // anyone, and the PR says so.
  bool flaky = false;
  // The tests the output and the run's JUnit reports show; nullopt when they show none.
  std::optional<TestEvidence> evidence;
};

struct VerifierReport {
  std::vector<VerifierResult> results;
  bool passed() const;
  // "build: passed (1.2s); test: FAILED exit 127 (0.8s, 12 tests): sh: 1: tsd: not found": a
  // failure with its first error line.
  // `with_times`: each verifier's duration in brackets, and the tests its output showed. The model's copy has none: the prompt
  // stays the same from run to run (prefix caching, replays).
  std::string Summary(bool with_times = true) const;
  // Summary plus each failing verifier's distilled output, within `budget_bytes`.
  std::string ForModel(size_t budget_bytes = 6000) const;
  Json ToJson() const;
};

// Reads what VerifierReport::ToJson wrote (without the full output); kParse on a wrong shape.
Result<VerifierReport> VerifierReportFromJson(const Json& json);

// How the agent's work is judged against the untouched tree.
enum class JudgeMode {
  kAllGreen,       // Every verifier must pass.
  kNoNewFailures,  // The baseline was red: only failures it did not have count.
};
std::string_view JudgeModeName(JudgeMode mode);  // "all_green", "no_new_failures"

// A failure's identity across runs, so that a baseline and a later run can be compared: the
// verifier, each diagnostic's kind, file and test, and its message with the digits taken out
// (line numbers and timings move as code changes). A failing verifier whose output no parser
// recognised is one failure, keyed by its name.
std::vector<std::string> FailureKeys(const VerifierResult& result);
// The failures of `current` that `baseline` did not have, as readable lines ("test: new test
// failure tests/test_cart.py test_value: ..."); empty when nothing got worse. Flaky baseline
// verifiers count as passing.
std::vector<std::string> NewFailures(const VerifierReport& baseline, const VerifierReport& current);
// Whether `current` is acceptable under `mode` (for kNoNewFailures, `baseline` is required).
bool Acceptable(JudgeMode mode, const VerifierReport* baseline, const VerifierReport& current);

// Where `current` shows fewer tests than `baseline` did, per verifier of `specs` (matched by
// name) under its require_test_evidence, as readable lines ("test: the baseline ran 3
// tests, the final check 0"); empty when every check ran at least the tests its baseline ran. Failing to start or
// printing nothing a test runner prints counts as no tests. `fewer_allowed` (the policy lets
// tests be deleted or skipped): only a run that shows no test at all falls short.
std::vector<std::string> MissingTestRuns(const std::vector<VerifierSpec>& specs,
                                         const VerifierReport& baseline,
                                         const VerifierReport& current,
                                         bool fewer_allowed = false);

Json ToJson(const VerifierSpec& spec);
// Reads {"name","command","timeout_seconds","require_test_evidence"}; kInvalidArgument names
// the missing or mistyped field.
Result<VerifierSpec> VerifierSpecFromJson(const Json& json);

// A host directory whose absolute path a verifier's output may print, and what readers are
// shown instead: "" for the workspace (its paths become repository-relative), or a label such
// as "<state>" for the runner's state directory.
struct PathAlias {
  std::filesystem::path path;
  std::string shown_as;
};

// `text` with every absolute path under one of `aliases` rewritten: "ROOT/src/a.c" becomes
// "src/a.c" (or "LABEL/src/a.c"), "ROOT" alone "." (or "LABEL"). A root matches only as whole
// path components, both as given and with symbolic links resolved; the longest root wins.
std::string RewriteHostPaths(std::string_view text, const std::vector<PathAlias>& aliases);

// Runs each verifier in order in `workspace` (all of them, even after a failure).
// `env` is the complete environment of each command. Failing to start is a failed result.
// With `log_dir`, each verifier's output is also kept there as `<log_prefix><name>.log`, whole
// up to 1 MiB, else its first and last halves (ProcessSpec::max_log_bytes); the model and the
// reports get the distilled form. When a failing run's output holds no
// diagnostic a parser knows, JUnit XML reports the run wrote (target/surefire-reports,
// target/failsafe-reports, build/test-results/*) are read for the failures.
// Host paths: each run's output is rewritten (RewriteHostPaths) before anything reads it, so
// that the report, its diagnostics and test names, and all that is made of them (the model's
// feedback, PRs, summaries) name the workspace's files relative to it, and `hidden_paths`
// (the state directory, ...) by their label. The logs in `log_dir` keep the output as it was.
VerifierReport RunVerifiers(sandbox::ProcessRunner& runner, const std::vector<VerifierSpec>& specs,
                            const std::filesystem::path& workspace,
                            const std::map<std::string, std::string>& env,
                            const std::optional<std::filesystem::path>& log_dir = std::nullopt,
                            const std::string& log_prefix = "",
                            const std::vector<PathAlias>& hidden_paths = {});

// The JUnit XML reports under `workspace`'s usual report directories modified at or after
// `since`: links are not followed, at most 200 files of at most 4 MiB each are read.
std::vector<std::string> ReadJunitReports(const std::filesystem::path& workspace,
                                          std::filesystem::file_time_type since);

// The line of a failed run's output that names its cause, cut to 200 bytes: the first error
// or test failure a parser recognised ("src/a.c:3: 'y' undeclared"), else the first line that
// looks like an error and is not a build tool's echo of a failed step (make's "*** [...] Error
// 1", "recipe for target", npm/yarn/pnpm lifecycle lines, ninja's "FAILED:", go's "FAIL pkg",
// "exit status N", CTest's closing lines), a Python traceback standing for its exception line;
// else such an echo; else the last non-blank line; "" for empty output.
std::string FirstErrorLine(std::string_view output, const std::vector<Diagnostic>& diagnostics);

// Cuts raw output down for the model: lines that look like errors (with a line of context)
// and the last lines, within `budget_bytes`.
std::string Distill(std::string_view output, size_t budget_bytes = 3000);

}  // namespace drover::verifiers
