#include "cli/eval_command.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/fs.h"
#include "evals/harness.h"
#include "evals/results.h"
#include "evals/task.h"

namespace drover::cli {
namespace {

namespace fs = std::filesystem;

struct EvalFlags {
  std::string suite;
  std::string model;  // Default: $DROVER_MODEL, else replay of each task's cassette.
  int attempts = 1;
  std::string tasks;  // Glob over task ids; empty: all.
  int jobs = 1;
  std::string record;  // Live only: save cassettes here.
  std::string out = "eval-results";
  std::string baseline;  // results.json to compare against; a regression exits 1.
  std::string prices;    // Default: evals/prices.yaml when present.
  std::string sandbox = "required";
  // Keep OUT/work: each run's scratch repository and run directory (job.json,
  // exchanges.jsonl, transcripts) under work/<task>/attempt-K/. Default: removed.
  bool keep_work = false;
  std::string compare_a, compare_b;
};

// `eval`'s own subcommands, to tell after parsing which one ran.
struct EvalCommands {
  CLI::App* compare = nullptr;
  CLI::App* verify_tasks = nullptr;
};

// Progress on stderr, one line per finished run.
class ProgressObserver : public evals::EvalObserver {
 public:
  void OnRunFinished(const evals::EvalTask& task, const evals::RunResult& run) override {
    std::lock_guard lock(mutex_);
    std::fprintf(stderr, "drover eval: %s #%d: %s%s%s%s\n", task.id.c_str(), run.attempt,
                 run.category.c_str(), run.reason.empty() ? "" : " (", run.reason.c_str(),
                 run.reason.empty() ? "" : ")");
  }

 private:
  std::mutex mutex_;
};

int InputError(const Error& error) {
  std::fprintf(stderr, "drover eval: %s\n", error.message.c_str());
  return ToInt(error.code == ErrorCode::kPermissionDenied || error.code == ErrorCode::kIo
                   ? ExitCode::kEnvironment
                   : ExitCode::kInvalidInput);
}

// `with_model`: read --model / DROVER_MODEL (verify-tasks calls no model).
Result<evals::EvalOptions> Options(const fs::path& self, const EvalFlags& flags,
                                   const std::map<std::string, std::string>& env, bool with_model) {
  evals::EvalOptions options;
  options.suite_label = flags.suite;
  options.attempts = flags.attempts;
  options.jobs = flags.jobs;
  options.drover_binary = self;
  options.parent_env = env;
  options.sandbox =
      flags.sandbox == "none" ? fleet::SandboxMode::kNone : fleet::SandboxMode::kRequired;
  options.work_dir = fs::absolute(flags.out) / "work";
  std::string model = with_model ? flags.model : "";
  if (model.empty() && with_model) {
    if (auto it = env.find("DROVER_MODEL"); it != env.end()) model = it->second;
  }
  if (!model.empty() && model != "replay") {
    auto setting = fleet::ParseModelSetting(model, env);
    if (!setting) return Fail(setting.error());
    if (setting->replay_dir) {
      return Fail(ErrorCode::kInvalidArgument,
                  "drover eval replays each task's own cassette: leave out --model (or "
                  "DROVER_MODEL) instead of giving replay:DIR");
    }
    options.model = *setting;
    options.model_label = model;
    if (!flags.record.empty()) options.record_dir = fs::absolute(flags.record);
  } else if (!flags.record.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "--record needs a live model (--model or DROVER_MODEL)");
  }
  auto prices = LoadPrices(flags.prices);
  if (!prices) return Fail(prices.error());
  options.prices = *prices;
  return options;
}

Status WriteOutputs(const fs::path& out, const evals::SuiteResult& result) {
  if (auto made = CreateDirectories(out); !made) return made;
  Status wrote = WriteFileAtomic(out / "results.json", evals::ToJson(result).dump(2) + "\n");
  if (wrote) wrote = WriteFileAtomic(out / "report.md", evals::RenderMarkdown(result));
  if (wrote) wrote = WriteFileAtomic(out / "junit.xml", evals::RenderJunit(result));
  return wrote;
}

int RunEval(const fs::path& self, const EvalFlags& flags, bool json,
            const std::map<std::string, std::string>& env) {
  auto tasks = evals::LoadSuite(flags.suite, flags.tasks);
  if (!tasks) return InputError(tasks.error());
  std::optional<evals::SuiteResult> baseline;
  if (!flags.baseline.empty()) {
    auto loaded = evals::LoadSuiteResult(flags.baseline);
    if (!loaded) return InputError(loaded.error());
    baseline = *loaded;
    // With --tasks, the tasks left out are not regressions.
    std::erase_if(baseline->tasks, [&](const evals::TaskResult& task) {
      return !flags.tasks.empty() && !evals::GlobMatch(flags.tasks, task.id);
    });
  }
  auto options = Options(self, flags, env, true);
  if (!options) return InputError(options.error());
  std::fprintf(stderr, "drover eval: %zu tasks × %d run(s), model %s\n", tasks->size(),
               flags.attempts,
               options->model ? options->model_label.c_str() : "replayed from cassettes");
  ProgressObserver observer;
  auto result = evals::RunSuite(*tasks, *options, observer);
  if (!result) return InputError(result.error());
  fs::path out = fs::absolute(flags.out);
  if (auto wrote = WriteOutputs(out, *result); !wrote) return InputError(wrote.error());
  if (!flags.keep_work) (void)RemoveAll(options->work_dir);
  std::vector<std::string> problems;
  if (baseline) {
    problems = evals::BaselineRegressions(*baseline, *result);
  } else {
    for (const auto& task : result->tasks) {
      if (!task.expect_success && task.Successes() > 0) {
        problems.push_back(task.id + ": negative control scored a success");
      }
    }
  }
  if (json) {
    std::cout << evals::ToJson(*result).dump(2) << std::endl;
  } else {
    std::cout << evals::RenderMarkdown(*result) << "\nWritten: " << (out / "results.json").string()
              << ", report.md, junit.xml\n";
  }
  for (const auto& problem : problems) std::fprintf(stderr, "drover eval: %s\n", problem.c_str());
  return ToInt(problems.empty() ? ExitCode::kOk : ExitCode::kJobsFailed);
}

int CompareResults(const EvalFlags& flags, bool json) {
  auto a = evals::LoadSuiteResult(flags.compare_a);
  if (!a) return InputError(a.error());
  auto b = evals::LoadSuiteResult(flags.compare_b);
  if (!b) return InputError(b.error());
  auto comparison = evals::Compare(*a, *b);
  if (json) {
    Json changed = Json::array();
    for (const auto& change : comparison.changed) {
      changed.push_back({{"id", change.id},
                         {"before", change.before ? Json(*change.before) : Json(nullptr)},
                         {"after", change.after ? Json(*change.after) : Json(nullptr)}});
    }
    std::cout << Json{{"changed", changed},
                      {"better", comparison.better},
                      {"worse", comparison.worse},
                      {"paired", comparison.paired},
                      {"p_value", comparison.p_value},
                      {"significant", comparison.significant()}}
                     .dump(2)
              << std::endl;
  } else {
    std::cout << evals::RenderComparison(comparison, flags.compare_a, flags.compare_b);
  }
  bool significantly_worse = comparison.significant() && comparison.worse > comparison.better;
  return ToInt(significantly_worse ? ExitCode::kJobsFailed : ExitCode::kOk);
}

int VerifyTasks(const fs::path& self, const EvalFlags& flags,
                const std::map<std::string, std::string>& env) {
  auto tasks = evals::LoadSuite(flags.suite, flags.tasks);
  if (!tasks) return InputError(tasks.error());
  auto options = Options(self, flags, env, false);
  if (!options) return InputError(options.error());
  options->work_dir = fs::absolute(flags.out) / "verify-work";
  auto checks = evals::VerifyTasks(*tasks, *options);
  (void)RemoveAll(options->work_dir);
  if (!checks) return InputError(checks.error());
  int broken = 0;
  for (const auto& check : *checks) {
    std::printf("%s %s: %s\n", check.ok ? "ok    " : "BROKEN", check.id.c_str(),
                check.message.c_str());
    broken += check.ok ? 0 : 1;
  }
  std::printf("%zu tasks, %d broken\n", checks->size(), broken);
  return ToInt(broken == 0 ? ExitCode::kOk : ExitCode::kJobsFailed);
}

// Exit codes: kOk; kJobsFailed when a task dropped against --baseline, a negative control
// scored a success, compare found a significant drop, or verify-tasks found a broken task;
// kInvalidInput for a bad task.yaml, price table, results file or model setting;
// kEnvironment when the sandbox or the output folder does not work.
int EvalCommand(const EvalCommands& commands, const fs::path& self, const EvalFlags& flags,
                bool json, const std::map<std::string, std::string>& env) {
  if (*commands.compare) return CompareResults(flags, json);
  if (*commands.verify_tasks) return VerifyTasks(self, flags, env);
  if (flags.suite.empty()) {
    std::fprintf(stderr, "drover eval: give a suite folder (or compare, verify-tasks)\n");
    return ToInt(ExitCode::kUsage);
  }
  return RunEval(self, flags, json, env);
}

}  // namespace

Result<std::optional<fleet::PriceTable>> LoadPrices(const std::string& explicit_file) {
  std::vector<fs::path> candidates;
  if (!explicit_file.empty()) {
    candidates.push_back(explicit_file);
  } else {
    candidates = {"evals/prices.yaml", fs::path(DROVER_SOURCE_DIR) / "evals/prices.yaml"};
  }
  for (const auto& file : candidates) {
    std::error_code ec;
    if (explicit_file.empty() && !fs::is_regular_file(file, ec)) continue;
    auto table = fleet::LoadPriceTable(file);
    if (!table) return Fail(table.error());
    return std::optional(*table);
  }
  return std::optional<fleet::PriceTable>();
}

CommandRun AddEvalCommand(CLI::App& cmd, Invocation&) {
  auto state = std::make_shared<std::pair<EvalFlags, EvalCommands>>();
  EvalFlags& flags = state->first;
  EvalCommands& commands = state->second;
  CLI::App* eval = &cmd;
  eval->add_option("suite", flags.suite, "A folder of tasks (each with a task.yaml)");
  eval->add_option("--model", flags.model,
                   "openai:MODEL or anthropic:MODEL (default: $DROVER_MODEL; without one, each "
                   "task's cassette is replayed)");
  eval->add_option("--attempts", flags.attempts, "Runs of every task (K)")
      ->check(CLI::Range(1, 1000));
  eval->add_option("--tasks", flags.tasks, "Only task ids matching this glob");
  eval->add_option("--jobs", flags.jobs, "Runs at once")->check(CLI::Range(1, 256));
  eval->add_option("--record", flags.record, "Save each run's model exchanges as cassettes here");
  eval->add_option("--out", flags.out, "Where results.json, report.md and junit.xml go");
  eval->add_option("--baseline", flags.baseline,
                   "A results.json: exit 1 when a task's success rate drops below it");
  eval->add_option("--prices", flags.prices, "Price table (default: evals/prices.yaml)");
  eval->add_option("--sandbox", flags.sandbox, "required (default) or none")
      ->check(CLI::IsMember({"required", "none"}));
  eval->add_flag("--keep-work", flags.keep_work,
                 "Keep OUT/work: each run's repository and run directory (exchanges, transcripts)");
  commands.compare = eval->add_subcommand("compare", "Compare two results.json files");
  commands.compare->add_option("a", flags.compare_a, "The earlier results.json")->required();
  commands.compare->add_option("b", flags.compare_b, "The later results.json")->required();
  commands.verify_tasks = eval->add_subcommand(
      "verify-tasks", "Check that every task's checks fail on repo/ and pass with solution/");
  commands.verify_tasks->add_option("suite", flags.suite, "A folder of tasks")->required();
  commands.verify_tasks->add_option("--tasks", flags.tasks, "Only task ids matching this glob");
  commands.verify_tasks->add_option("--jobs", flags.jobs, "Tasks at once")
      ->check(CLI::Range(1, 256));
  commands.verify_tasks->add_option("--sandbox", flags.sandbox, "required (default) or none")
      ->check(CLI::IsMember({"required", "none"}));
  return [state](const Invocation& parsed) {
    (void)SetUpLogging(parsed.log_level, std::nullopt);
    return EvalCommand(state->second, parsed.self, state->first, parsed.json,
                       parsed.env);
  };
}

}  // namespace drover::cli
