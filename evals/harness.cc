#include "evals/harness.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "core/fs.h"
#include "core/json.h"
#include "core/yaml.h"
#include "fleet/run_deps.h"
#include "spec/spec.h"
#include "spec/targets.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/probe.h"
#include "sandbox/process.h"
#include "sandbox/toolchains.h"
#include "verifiers/verifier.h"

namespace drover::evals {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// The one commit of every task repository: the same author and date everywhere, so the same
// task gives the same commit id (and nothing in its history hints at the answer).
constexpr const char* kAuthorName = "drover eval";
constexpr const char* kAuthorEmail = "eval@drover.invalid";
constexpr const char* kCommitDate = "2024-01-01T00:00:00Z";

// The number a text starts with; 0 when none or out of range (test output is untrusted).
int LeadingNumber(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() ? value : 0;
}

// The number right before `word` in `line` ("3 passed" for " passed"), if any.
std::optional<int> NumberBefore(std::string_view line, std::string_view word) {
  size_t at = line.find(word);
  if (at == std::string_view::npos) return std::nullopt;
  size_t end = at;
  while (end > 0 && line[end - 1] == ' ') --end;
  size_t start = end;
  while (start > 0 && std::isdigit(static_cast<unsigned char>(line[start - 1]))) --start;
  if (start == end) return std::nullopt;
  return LeadingNumber(line.substr(start, end - start));
}

// What a run of a task's checks says.
struct CheckVerdict {
  std::optional<std::string> failure;  // Why they failed; nullopt when they passed.
  std::optional<int> tests_ran;        // Over the checks whose output tells.
};

// The environment and process runner shared by every command of an eval.
class Machine {
 public:
  explicit Machine(const EvalOptions& options) : options_(options) {
    local_ = sandbox::MakeLocalProcessRunner();
    if (options.sandbox == fleet::SandboxMode::kRequired) {
      toolchains_ = sandbox::FindToolchains(options.parent_env);
    }
  }

  // Checks that the sandbox works, when it is required.
  Status Probe() const {
    if (options_.sandbox != fleet::SandboxMode::kRequired) return {};
    auto probe = sandbox::ProbeSandbox(options_.drover_binary, options_.work_dir);
    if (!probe.level.starts_with("none")) return {};
    return Fail(ErrorCode::kPermissionDenied,
                "the sandbox does not work on this machine (" + probe.error +
                    "); pass --sandbox none to run the tasks as plain processes");
  }

  // Runs git (our own repositories only: no user or system configuration is read).
  Status Git(const fs::path& repo, std::vector<std::string> args) const {
    sandbox::ProcessSpec spec;
    spec.argv = {"git", "-c", "core.hooksPath=/dev/null", "-c", "core.logAllRefUpdates=false"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.cwd = repo;
    spec.env = sandbox::BaseEnvironment(options_.parent_env);
    spec.env["HOME"] = options_.work_dir.string();
    spec.env["GIT_CONFIG_NOSYSTEM"] = "1";
    spec.env["GIT_CONFIG_GLOBAL"] = "/dev/null";
    for (const char* who : {"AUTHOR", "COMMITTER"}) {
      spec.env[std::string("GIT_") + who + "_NAME"] = kAuthorName;
      spec.env[std::string("GIT_") + who + "_EMAIL"] = kAuthorEmail;
      spec.env[std::string("GIT_") + who + "_DATE"] = kCommitDate;
    }
    spec.timeout = std::chrono::minutes(2);
    auto ran = local_->Run(spec);
    if (!ran) return Fail(ran.error());
    if (!ran->ok()) {
      return Fail(ErrorCode::kIo, "git " + args.front() + " in " + repo.string() + ": " +
                                      ran->Describe() + ": " + ran->output);
    }
    return {};
  }

  // Runs the task's checks in `tree` (sandboxed unless --sandbox none), and judges them:
  // every check passed, and where the output tells, some test ran, none was skipped, and no
  // fewer ran than `expected_tests` (what they run on the reference solution).
  CheckVerdict RunChecks(const EvalTask& task, const fs::path& tree, const fs::path& log_dir,
                         std::optional<int> expected_tests = std::nullopt) const {
    auto env = sandbox::BaseEnvironment(options_.parent_env);
    env["PYTHONDONTWRITEBYTECODE"] = "1";
    std::unique_ptr<sandbox::ProcessRunner> isolated;
    if (options_.sandbox == fleet::SandboxMode::kRequired) {
      sandbox::SandboxPolicy policy;
      policy.workspace = tree;
      policy.read_only_subpaths = {".git"};
      policy.read_only_paths = toolchains_.read_only_paths;
      for (const auto& [name, value] : toolchains_.env) env[name] = value;
      env["HOME"] = "/tmp";
      isolated = sandbox::MakeIsolatedProcessRunner(policy, options_.drover_binary);
    } else {
      env["HOME"] = (log_dir / "home").string();
      (void)CreateDirectories(log_dir / "home");
    }
    auto report = verifiers::RunVerifiers(isolated ? *isolated : *local_, task.checks, tree, env,
                                          log_dir, "hidden-");
    CheckVerdict verdict;
    for (const auto& result : report.results) {
      std::string name = "hidden check '" + result.name + "'";
      TestEvidence evidence = InspectTestOutput(result.output);
      if (evidence.ran) verdict.tests_ran = verdict.tests_ran.value_or(0) + *evidence.ran;
      if (verdict.failure) continue;
      if (!result.passed) {
        verdict.failure = name + " failed: " + result.outcome;
      } else if (evidence.ran && *evidence.ran == 0) {
        verdict.failure = name + " ran no test";
      } else if (evidence.skipped > 0) {
        verdict.failure = name + " skipped " + std::to_string(evidence.skipped) + " test(s)";
      }
    }
    if (!verdict.failure && expected_tests && verdict.tests_ran &&
        *verdict.tests_ran < *expected_tests) {
      verdict.failure = "the hidden checks ran " + std::to_string(*verdict.tests_ran) +
                        " tests; with the reference solution they run " +
                        std::to_string(*expected_tests);
    }
    return verdict;
  }

 private:
  const EvalOptions& options_;
  std::unique_ptr<sandbox::ProcessRunner> local_;
  sandbox::ToolchainView toolchains_;
};

// Copies the files under `from` onto `to` (same relative paths), replacing whatever is there:
// a file, a link, or a link standing for one of the parent folders.
Status Overlay(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::exists(from, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(from, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory() || !it->is_regular_file()) continue;
    fs::path rel = it->path().lexically_relative(from);
    fs::path dest = to;
    for (const auto& part : rel.parent_path()) {
      dest /= part;
      if (fs::is_symlink(dest, ec) || (fs::exists(dest, ec) && !fs::is_directory(dest, ec))) {
        fs::remove_all(dest, ec);
      }
    }
    dest = to / rel;
    if (auto made = CreateDirectories(dest.parent_path()); !made) return made;
    fs::remove_all(dest, ec);
    fs::copy_file(it->path(), dest, fs::copy_options::overwrite_existing, ec);
    if (ec) return Fail(ErrorCode::kIo, "copying " + it->path().string() + ": " + ec.message());
  }
  if (ec) return Fail(ErrorCode::kIo, "reading " + from.string() + ": " + ec.message());
  return {};
}

// A copy of repo/ at `dest`, links copied as links, no .git of its own.
Status CopyRepo(const EvalTask& task, const fs::path& dest) {
  std::error_code ec;
  fs::remove_all(dest, ec);
  if (auto made = CreateDirectories(dest.parent_path()); !made) return made;
  fs::copy(task.repo_dir(), dest, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
           ec);
  if (ec) return Fail(ErrorCode::kIo, "copying " + task.repo_dir().string() + ": " + ec.message());
  fs::remove_all(dest / ".git", ec);
  return {};
}

// repo/ + solution/ + checks/ at `dest`: the tree the checks must pass on.
Status SolvedTree(const EvalTask& task, const fs::path& dest) {
  Status ready = CopyRepo(task, dest);
  if (ready) ready = Overlay(task.solution_dir(), dest);
  if (ready) ready = Overlay(task.checks_dir(), dest);
  return ready;
}

// Sums the cached input tokens the gateway logged for a job.
int64_t CachedTokens(const fs::path& exchange_log) {
  auto text = ReadFile(exchange_log);
  if (!text) return 0;
  int64_t cached = 0;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    auto json = ParseJson(line, "exchanges.jsonl");
    if (!json || !json->contains("usage")) continue;
    cached += (*json)["usage"].value("cached_input_tokens", int64_t{0});
  }
  return cached;
}

// Takes out what differs between two runs of the same exchanges: scratch paths, timings.
std::string Stable(std::string reason, const fs::path& dir) {
  std::string prefix = dir.string();
  for (size_t at = reason.find(prefix); at != std::string::npos; at = reason.find(prefix, at)) {
    reason.replace(at, prefix.size(), "<run>");
  }
  static const std::regex kTiming(R"(\d+(\.\d+)?s\b)");
  return std::regex_replace(reason, kTiming, "<t>s");
}

class TaskRun {
 public:
  // `expected_tests`: how many tests the checks run on the reference solution, if known.
  TaskRun(const Machine& machine, const EvalOptions& options, const EvalTask& task, int attempt,
          fs::path dir, std::optional<int> expected_tests)
      : machine_(machine),
        options_(options),
        task_(task),
        attempt_(attempt),
        dir_(std::move(dir)),
        expected_tests_(expected_tests) {
    result_.attempt = attempt;
  }

  RunResult Run() {
    auto started = SteadyClock::now();
    if (auto done = Execute(); !done) {
      result_.outcome = result_.outcome.empty() ? "failed" : result_.outcome;
      Score("infrastructure", done.error().message);
    }
    result_.wall_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    return result_;
  }

 private:
  void Score(std::string category, const std::string& reason) {
    result_.category = std::move(category);
    result_.reason = Stable(reason, dir_);
  }

  // The scratch repository: repo/ as one commit on main, nothing else.
  Result<fs::path> PrepareRepository() {
    fs::path repo = dir_ / "repos" / task_.id;
    if (auto copied = CopyRepo(task_, repo); !copied) return Fail(copied.error());
    for (auto args : {std::vector<std::string>{"init", "-q", "-b", "main"},
                      std::vector<std::string>{"add", "-A"},
                      std::vector<std::string>{"commit", "-q", "--no-gpg-sign", "-m",
                                               "Starting point of " + task_.id}}) {
      if (auto ran = machine_.Git(repo, args); !ran) return Fail(ran.error());
    }
    std::error_code ec;
    fs::remove_all(repo / ".git" / "logs", ec);
    return repo;
  }

  // The run's options, and its spec (the task's, with the task's limits) and one target, the
  // scratch repository, handed to the runner as they are: no files are written for it.
  Result<fleet::RunOptions> Options(const fs::path& repo, fleet::RunInput& input) {
    fleet::RunOptions run;
    auto text = ReadFile(task_.migration);
    if (!text) return Fail(text.error());
    auto migration =
        OverrideLimits(*text, task_.migration.string(), task_.max_turns, task_.max_attempts);
    if (!migration) return Fail(migration.error());
    auto spec = fleet::ParseMigrationSpec(*migration, task_.migration.string());
    if (!spec) return Fail(spec.error());
    auto targets = fleet::ParseTargets(repo.string() + "\n", dir_, "the eval's target");
    if (!targets) return Fail(targets.error());
    input.spec = std::move(*spec);
    input.spec_text = std::move(*migration);
    input.targets = std::move(*targets);
    run.state_dir = dir_ / "state";
    run.run_id = "eval";
    run.agents = 1;
    run.max_in_flight = 1;
    run.drover_binary = options_.drover_binary;
    run.parent_env = options_.parent_env;
    run.sandbox = options_.sandbox;
    if (options_.model) {
      run.model = *options_.model;
      if (options_.record_dir) {
        run.record_dir = options_.attempts == 1
                             ? *options_.record_dir
                             : *options_.record_dir / ("attempt-" + std::to_string(attempt_));
      }
      return run;
    }
    if (!task_.cassette) {
      return Fail(ErrorCode::kNotFound, "task " + task_.id + " has no cassette to replay");
    }
    fs::path replay = dir_ / "replay";
    if (auto made = CreateDirectories(replay); !made) return Fail(made.error());
    std::error_code ec;
    fs::copy_file(*task_.cassette, replay / (task_.id + ".json"),
                  fs::copy_options::overwrite_existing, ec);
    if (ec) return Fail(ErrorCode::kIo, "copying the cassette: " + ec.message());
    auto model = fleet::ParseModelSetting("replay:" + replay.string(), options_.parent_env);
    if (!model) return Fail(model.error());
    run.model = *model;
    return run;
  }

  Status Execute() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    auto repo = PrepareRepository();
    if (!repo) return Fail(repo.error());
    fleet::RunInput input;
    auto run = Options(*repo, input);
    if (!run) return Fail(run.error());
    auto deps = fleet::ProductionRunDeps::Open(run->state_dir);
    if (!deps) return Fail(deps.error());
    fleet::RunObserver quiet;
    auto report = fleet::RunMigration(*run, input, deps->deps(), quiet);
    if (!report) return Fail(report.error());
    if (report->jobs.size() != 1) return Fail(ErrorCode::kInternal, "expected one job");
    const fleet::JobReport& job = report->jobs.front();
    result_.outcome = std::string(fleet::JobStatusName(job.status));
    result_.input_tokens = job.input_tokens;
    result_.output_tokens = job.output_tokens;
    result_.cached_input_tokens = CachedTokens(job.job_dir / "exchanges.jsonl");
    result_.turns = job.turns;
    if (options_.prices) {
      if (auto price = options_.prices->Find(options_.model_label)) {
        result_.cost_usd =
            fleet::Cost(*price, result_.input_tokens, result_.cached_input_tokens,
                        result_.output_tokens);
      }
    }
    switch (job.status) {
      case fleet::JobStatus::kPublished: return ScorePublished(*repo, input.spec);
      case fleet::JobStatus::kNotApplicable: Score("not_applicable", job.reason); return {};
      case fleet::JobStatus::kSkipped: Score("infrastructure", "skipped: " + job.reason); return {};
      case fleet::JobStatus::kFailed:
        // The runner names what failed where it failed; a report without a kind is one only
        // an older runner wrote.
        Score(std::string(fleet::FailureKindName(
                  job.failure_kind.value_or(fleet::FailureKind::kInfrastructure))),
              job.reason);
        return {};
    }
    return {};
  }

  // The published branch, checked out in the target, with checks/ copied over it.
  Status ScorePublished(const fs::path& repo, const fleet::MigrationSpec& spec) {
    if (auto checked_out = machine_.Git(repo, {"checkout", "-q", "-f", spec.pr.branch});
        !checked_out) {
      return checked_out;
    }
    if (auto overlaid = Overlay(task_.checks_dir(), repo); !overlaid) return overlaid;
    auto verdict = machine_.RunChecks(task_, repo, dir_ / "checks", expected_tests_);
    if (verdict.failure) {
      Score("checks_failed", *verdict.failure);
    } else {
      Score("success", "");
    }
    return {};
  }

  const Machine& machine_;
  const EvalOptions& options_;
  const EvalTask& task_;
  int attempt_;
  fs::path dir_;
  std::optional<int> expected_tests_;
  RunResult result_;
};

// Runs `count` items on `jobs` threads; each item's result goes to its own slot.
void ForEach(size_t count, int jobs, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) work(i);
  };
  std::vector<std::thread> threads;
  size_t n = std::min<size_t>(std::max(1, jobs), count);
  for (size_t i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
}

}  // namespace

TestEvidence InspectTestOutput(std::string_view output) {
  TestEvidence evidence;
  auto add_ran = [&](int n) { evidence.ran = evidence.ran.value_or(0) + n; };
  bool go_ok = false, go_empty = false;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    std::string_view line = output.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("Ran ") && line.find(" test") != std::string_view::npos) {
      if (auto n = NumberBefore(line, " test")) add_ran(*n);  // unittest
    } else if (line.find("NO TESTS RAN") != std::string_view::npos ||
               line.find("no tests ran") != std::string_view::npos ||
               line.find("No tests were found") != std::string_view::npos) {
      add_ran(0);
    } else if (line.starts_with("Tests:")) {  // jest, vitest
      if (auto n = NumberBefore(line, " total")) add_ran(*n);
      if (auto n = NumberBefore(line, " skipped")) evidence.skipped += *n;
      if (auto n = NumberBefore(line, " todo")) evidence.skipped += *n;
    } else if (line.find("tests failed out of") != std::string_view::npos) {  // CTest
      size_t of = line.find("out of ");
      add_ran(LeadingNumber(line.substr(of + 7)));
    } else if (line.find(" tests found") != std::string_view::npos) {  // JUnit console
      if (auto n = NumberBefore(line, " tests found")) add_ran(*n);
    } else if (line.find(" tests skipped") != std::string_view::npos) {
      if (auto n = NumberBefore(line, " tests skipped")) evidence.skipped += *n;
    } else if (line.starts_with("ok ") || line.starts_with("ok\t")) {
      go_ok = true;
    } else if (line.find("[no test files]") != std::string_view::npos) {
      go_empty = true;
    } else if (line.starts_with("=") && (line.find(" passed") != std::string_view::npos ||
                                         line.find(" failed") != std::string_view::npos)) {
      int n = 0;  // pytest's last line: "=== 3 passed, 1 skipped in 0.1s ==="
      for (auto word : {" passed", " failed", " error"}) n += NumberBefore(line, word).value_or(0);
      add_ran(n);
      evidence.skipped += NumberBefore(line, " skipped").value_or(0);
    }
    if ((line.starts_with("OK (") || line.starts_with("FAILED (")) &&
        line.find("skipped=") != std::string_view::npos) {  // unittest's verdict
      evidence.skipped += LeadingNumber(line.substr(line.find("skipped=") + 8));
    }
  }
  if (go_empty && !go_ok && !evidence.ran) evidence.ran = 0;
  return evidence;
}

Result<std::string> OverrideLimits(const std::string& text, const std::string& file,
                                   std::optional<int> max_turns, std::optional<int> max_attempts) {
  if (!max_turns && !max_attempts) return text;
  auto front = SplitFrontMatter(text, file);
  if (!front) return Fail(front.error());
  auto doc = ParseYaml(front->yaml, file, front->yaml_line);
  if (!doc) return Fail(doc.error());
  YamlNode root = doc->Root();
  if (!root.IsMap()) return root.Fail("the front matter is not a mapping");
  if (auto limits = root.Find("limits"); limits && !limits->IsMap() && !limits->IsNull()) {
    return limits->Fail("expected a mapping, got " + limits->Describe());
  }
  YamlJson fields = doc->json();
  if (max_turns) fields["limits"]["max_turns"] = std::to_string(*max_turns);
  if (max_attempts) fields["limits"]["max_attempts"] = std::to_string(*max_attempts);
  return "---\n" + WriteYaml(fields) + "\n---\n" + std::string(front->body);
}

Result<SuiteResult> RunSuite(const std::vector<EvalTask>& tasks, const EvalOptions& options,
                             EvalObserver& observer) {
  if (auto made = CreateDirectories(options.work_dir); !made) return Fail(made.error());
  Machine machine(options);
  if (auto probed = machine.Probe(); !probed) return Fail(probed.error());
  SuiteResult suite;
  suite.suite = options.suite_label;
  suite.model = options.model_label;
  suite.replayed = !options.model.has_value();
  suite.attempts = options.attempts;
  if (!options.prices) {
    suite.price_note = "no price table: costs omitted";
  } else if (!options.prices->Find(options.model_label)) {
    suite.price_note =
        "the price table has no entry for '" + options.model_label + "': costs omitted";
  }
  // How many tests each task's checks run on its reference solution (when it has one that
  // passes them): a published tree on which fewer run has lost tests.
  std::vector<std::optional<int>> expected(tasks.size());
  ForEach(tasks.size(), options.jobs, [&](size_t t) {
    std::error_code ec;
    if (!fs::is_directory(tasks[t].solution_dir(), ec)) return;
    fs::path dir = options.work_dir / tasks[t].id / "reference";
    if (!SolvedTree(tasks[t], dir / "tree")) return;
    auto verdict = machine.RunChecks(tasks[t], dir / "tree", dir / "logs");
    if (!verdict.failure) expected[t] = verdict.tests_ran;
  });
  size_t k = static_cast<size_t>(std::max(1, options.attempts));
  std::vector<RunResult> runs(tasks.size() * k);
  ForEach(runs.size(), options.jobs, [&](size_t i) {
    const EvalTask& task = tasks[i / k];
    int attempt = static_cast<int>(i % k) + 1;
    fs::path dir = options.work_dir / task.id / ("attempt-" + std::to_string(attempt));
    std::optional<int> tests = expected[i / k];
    RunResult run = TaskRun(machine, options, task, attempt, dir, tests).Run();
    if (run.category == "infrastructure") {
      double first_wall = run.wall_seconds;
      run = TaskRun(machine, options, task, attempt, dir.string() + "-rerun", tests).Run();
      run.reran = true;
      run.wall_seconds += first_wall;
    }
    observer.OnRunFinished(task, run);
    runs[i] = std::move(run);
  });
  for (size_t t = 0; t < tasks.size(); ++t) {
    TaskResult result;
    result.id = tasks[t].id;
    result.language = tasks[t].language;
    result.tags = tasks[t].tags;
    result.expect_success = tasks[t].expect_success;
    for (size_t a = 0; a < k; ++a) result.runs.push_back(runs[t * k + a]);
    suite.tasks.push_back(std::move(result));
  }
  return suite;
}

Result<std::vector<TaskCheck>> VerifyTasks(const std::vector<EvalTask>& tasks,
                                           const EvalOptions& options) {
  if (auto made = CreateDirectories(options.work_dir); !made) return Fail(made.error());
  Machine machine(options);
  if (auto probed = machine.Probe(); !probed) return Fail(probed.error());
  std::vector<TaskCheck> checks(tasks.size());
  ForEach(tasks.size(), options.jobs, [&](size_t i) {
    const EvalTask& task = tasks[i];
    TaskCheck& check = checks[i];
    check.id = task.id;
    if (task.source_dir != task.dir) {
      check.ok = true;
      check.message = "repo/ and checks/ from its base " + task.source_dir.filename().string();
      return;
    }
    std::error_code ec;
    if (!fs::is_directory(task.solution_dir(), ec)) {
      check.message = task.id + ": no solution/ to show that the checks can pass";
      return;
    }
    fs::path dir = options.work_dir / "verify" / task.id;
    fs::path start = dir / "start", solved = dir / "solved";
    Status ready = CopyRepo(task, start);
    if (ready) ready = Overlay(task.checks_dir(), start);
    if (ready) ready = SolvedTree(task, solved);
    if (!ready) {
      check.message = task.id + ": " + ready.error().message;
      return;
    }
    if (!machine.RunChecks(task, start, dir / "start-logs").failure) {
      check.message = task.id +
                      ": the checks pass on the starting repository (repo/): they "
                      "cannot tell a solved task from an unsolved one";
      return;
    }
    if (auto failed = machine.RunChecks(task, solved, dir / "solved-logs").failure) {
      check.message = task.id + ": the checks do not pass with solution/: " + *failed;
      return;
    }
    check.ok = true;
    check.message = "checks fail on repo/ and pass with solution/";
  });
  return checks;
}

}  // namespace drover::evals
