// The eval harness: runs each task of a suite through the same pipeline as `drover run`
// (fleet::RunMigration over a scratch repository, local forge), then copies the hidden checks
// onto the published tree, runs them through the verifiers module, and scores the run.
// Also checks that each task is sound: its checks fail on repo/ and pass with solution/.
// Thread-safe: RunSuite and VerifyTasks may be called from one thread at a time; they start
// their own workers, and call the observer from them concurrently.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "gateway/prices.h"
#include "evals/results.h"
#include "evals/task.h"
#include "fleet/runner.h"

namespace drover::evals {

struct EvalOptions {
  std::string suite_label;  // Written into the results as given.
  int attempts = 1;         // K runs of every task.
  int jobs = 1;             // Runs at once; the results do not depend on it.
  // A live model ("openai:..."), or nullopt: each task's cassette is replayed.
  std::optional<fleet::ModelSetting> model;
  std::string model_label = "replay";               // The --model text; the price table's key.
  std::optional<std::filesystem::path> record_dir;  // Live only: cassettes of each run.
  std::optional<fleet::PriceTable> prices;                 // nullopt: costs omitted.
  fleet::SandboxMode sandbox = fleet::SandboxMode::kRequired;
  std::filesystem::path drover_binary;  // Started by the runner, and as the sandbox helper.
  std::map<std::string, std::string> parent_env;  // Source of PATH and toolchains.
  std::filesystem::path work_dir;  // Scratch repositories and run state; REQUIRES: writable.
};

class EvalObserver {
 public:
  virtual ~EvalObserver() = default;
  virtual void OnRunFinished(const EvalTask& /*task*/, const RunResult& /*run*/) {}
};

// Runs every task `attempts` times. An infrastructure failure is run once more; a task's own
// failure is a RunResult, never an error. Errors: the work directory cannot be created, or
// the sandbox does not work here while it is required (kPermissionDenied).
Result<SuiteResult> RunSuite(const std::vector<EvalTask>& tasks, const EvalOptions& options,
                             EvalObserver& observer);

struct TaskCheck {
  std::string id;
  bool ok = false;
  std::string message;  // What was wrong, naming the task; or what was checked.
};

// For every task with its own repo/: the checks fail on repo/ + checks/ and pass on repo/ +
// solution/ + checks/ with at least one test run and none skipped. Tasks taking repo/ from a
// `base` are covered by their base. Errors as RunSuite's.
Result<std::vector<TaskCheck>> VerifyTasks(const std::vector<EvalTask>& tasks,
                                           const EvalOptions& options);

// What a test runner's output says about how many tests ran and were skipped (unittest,
// pytest, jest/vitest, go test, CTest, the JUnit console launcher); `ran` is nullopt when the
// output does not tell.
struct TestEvidence {
  std::optional<int> ran;
  int skipped = 0;
};
TestEvidence InspectTestOutput(std::string_view output);

// The migration text with `limits.max_turns` / `limits.max_attempts` set in its front matter.
// Errors: kInvalidArgument when the text has no YAML front matter, naming `file`.
Result<std::string> OverrideLimits(const std::string& text, const std::string& file,
                                   std::optional<int> max_turns, std::optional<int> max_attempts);

}  // namespace drover::evals
