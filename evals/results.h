// Eval results: what each run of each task scored, the statistics over them, and their forms:
// results.json (read back by `drover eval compare` and --baseline), report.md and JUnit XML.
// Everything but the wall times is a function of the runs, so replayed suites give
// byte-identical files. Thread-safe: value types and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json.h"

namespace drover::evals {

inline constexpr int kResultsSchemaVersion = 1;

// success, checks_failed (published but the hidden checks failed), not_applicable,
// verifier_failed, judge_veto, diff_policy, budget_exhausted, edit_errors, model_error,
// infrastructure (never the model's failure: re-run once, counted apart).
inline constexpr std::string_view kCategories[] = {
    "success",     "checks_failed",    "not_applicable", "verifier_failed", "judge_veto",
    "diff_policy", "budget_exhausted", "edit_errors",    "model_error",     "infrastructure"};

struct RunResult {
  int attempt = 1;
  std::string outcome;       // The job's status: published, failed, skipped, not_applicable.
  std::string category;      // One of kCategories.
  std::string reason;        // Empty on success; free of paths and timings.
  int64_t input_tokens = 0;  // Cached ones included.
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  std::optional<double> cost_usd;  // nullopt when the model has no price.
  int turns = 0;
  bool reran = false;       // The first try was an infrastructure failure; this is the second.
  double wall_seconds = 0;  // Ignored by compare and the baseline check.
};

struct TaskResult {
  std::string id;
  std::string language;
  std::vector<std::string> tags;
  bool expect_success = true;
  std::vector<RunResult> runs;  // By attempt.
  int Successes() const;
  int Infrastructure() const;
  // Runs that count: all but infrastructure failures.
  int Scored() const { return static_cast<int>(runs.size()) - Infrastructure(); }
  double SuccessRate() const;  // Successes over scored runs; 0 when none counts.
  // A negative control that scored a success, or a task that did what it should.
  bool AsExpected() const;
};

struct SuiteResult {
  std::string suite;  // As given on the command line.
  std::string model;  // "replay" or "openai:gpt-4.1".
  bool replayed = true;
  int attempts = 1;               // K: runs per task.
  std::string price_note;         // Why costs are missing, when they are.
  std::vector<TaskResult> tasks;  // By id.
};

Json ToJson(const SuiteResult& result);
// Reads what ToJson wrote; kParse naming `name` and the field otherwise.
Result<SuiteResult> SuiteResultFromJson(const Json& json, const std::string& name);
Result<SuiteResult> LoadSuiteResult(const std::filesystem::path& file);

// The Markdown report. For replayed suites its header says that the figures test the
// pipeline and the tools, not a model.
std::string RenderMarkdown(const SuiteResult& result);
// One testcase per task; a positive task fails unless it succeeded in every scored run, and a
// negative control fails when any run scored a success.
std::string RenderJunit(const SuiteResult& result);

struct TaskChange {
  std::string id;
  std::optional<double> before;  // nullopt: not in A.
  std::optional<double> after;   // nullopt: not in B.
};

struct Comparison {
  std::vector<TaskChange> changed;  // Tasks whose success rate differs, or in one side only.
  int better = 0;                   // Tasks in both whose rate rose.
  int worse = 0;                    // ... fell.
  int paired = 0;                   // Tasks in both.
  double p_value = 1;  // Exact two-sided sign test (McNemar's with K = 1) over better/worse.
  bool significant() const { return p_value < 0.05; }
};

// Compares success rates task by task; wall times, tokens and costs play no part.
Comparison Compare(const SuiteResult& a, const SuiteResult& b);
std::string RenderComparison(const Comparison& comparison, const std::string& a_name,
                             const std::string& b_name);

// What fails a run against a committed baseline: a task whose success rate dropped, a task of
// the baseline that did not run, and a negative control scoring a success (in `current`
// whether or not the baseline has it). Empty when none.
std::vector<std::string> BaselineRegressions(const SuiteResult& baseline,
                                             const SuiteResult& current);

}  // namespace drover::evals
