// The runner's refusal to work without a sandbox, with a helper that cannot isolate.
#include "fleet/runner.h"

#include <gtest/gtest.h>

#include "core/json.h"
#include "fleet/run_deps.h"
#include "sandbox/process.h"
#include "store/state_store.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

class CountingObserver : public RunObserver {
 public:
  void OnJobStep(const std::string&, std::string_view) override { ++steps; }
  int steps = 0;
};

// A drover "binary" whose sandbox helper fails the way it does where user namespaces are
// disabled; no drover-sandbox beside it.
RunOptions OptionsWithoutSandbox(const TempDir& dir) {
  WriteTestFile(dir.path(), "bin/drover",
                "#!/bin/sh\necho 'drover __sandbox: sandbox: unshare: Operation not permitted' "
                ">&2\nexit 4\n");
  std::filesystem::permissions(dir.path() / "bin/drover", std::filesystem::perms::owner_all);
  WriteTestFile(dir.path(), "repo/Makefile", "test:\n\ttrue\n");
  drover::testing::InitGitRepo(dir.path() / "repo");
  WriteTestFile(dir.path(), "repos.txt", (dir.path() / "repo").string() + "\n");
  WriteTestFile(dir.path(), "migration.md",
                "---\nid: m\ntitle: M\nverifiers:\n  - name: test\n    command: make -s test\n"
                "---\nDo it.\n");
  RunOptions options;
  options.migration_file = dir.path() / "migration.md";
  options.repos_file = dir.path() / "repos.txt";
  options.state_dir = dir.path() / "state";
  options.drover_binary = dir.path() / "bin/drover";
  options.parent_env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  options.model.replay_dir = dir.path() / "cassettes";
  return options;
}

TEST(Runner, RefusesToRunAgentsWithoutASandbox) {
  TempDir dir;
  RunOptions options = OptionsWithoutSandbox(dir);
  CountingObserver observer;
  auto deps = ProductionRunDeps::Open(options.state_dir);
  ASSERT_OK(deps);
  auto report = RunMigration(options, deps->deps(), observer);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(report.error().message.find("Operation not permitted"), std::string::npos)
      << report.error().message;
  EXPECT_NE(report.error().message.find("--sandbox=none"), std::string::npos)
      << report.error().message;
  EXPECT_EQ(observer.steps, 0);  // Nothing was cloned or run.
}

TEST(Runner, SandboxNoneRunsAndRecordsIt) {
  TempDir dir;
  RunOptions options = OptionsWithoutSandbox(dir);
  options.sandbox = SandboxMode::kNone;
  CountingObserver observer;
  auto deps = ProductionRunDeps::Open(options.state_dir);
  ASSERT_OK(deps);
  auto report = RunMigration(options, deps->deps(), observer);
  ASSERT_OK(report);
  EXPECT_EQ(report->isolation, "none (--sandbox=none)");
  ASSERT_EQ(report->jobs.size(), 1u);
  EXPECT_EQ(report->jobs[0].isolation, "none (--sandbox=none)");
  EXPECT_GT(observer.steps, 0);
}

// An agent that keeps what job.json said while it ran, then fails its attempt saying what
// ended it, in words that name nothing of it.
RunOptions OptionsWithFailingAgent(const TempDir& dir) {
  RunOptions options = OptionsWithoutSandbox(dir);
  options.sandbox = SandboxMode::kNone;
  WriteTestFile(dir.path(), "bin/drover",
                "#!/bin/sh\n"
                "for last; do :; done\n"  // --result FILE comes last.
                "attempt=$(dirname \"$last\")\n"
                "cp \"$attempt/../job.json\" \"$attempt/job-while-running.json\"\n"
                "printf '{\"version\": 1, \"status\": \"failed\", \"reason\": \"gave up\", "
                "\"failure_kind\": \"checks_failed\"}' > \"$last\"\n");
  WriteTestFile(dir.path(), "migration.md",
                "---\nid: m\ntitle: M\nlimits:\n  max_attempts: 2\nverifiers:\n  - name: test\n"
                "    command: make -s test\n---\nDo it.\n");
  WriteTestFile(dir.path(), "cassettes/repo.json", "[]\n");
  return options;
}

TEST(Runner, AFailedAttemptIsNotTheJobsEndWhileAnotherRuns) {
  TempDir dir;
  RunOptions options = OptionsWithFailingAgent(dir);
  CountingObserver observer;
  auto deps = ProductionRunDeps::Open(options.state_dir);
  ASSERT_OK(deps);
  auto report = RunMigration(options, deps->deps(), observer);
  ASSERT_OK(report);
  ASSERT_EQ(report->jobs.size(), 1u);
  const JobReport& job = report->jobs[0];
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(job.attempts, 2);
  EXPECT_EQ(job.step, JobStep::kAgent);
  // The kind is the one result.json carried; its reason says nothing of checks.
  EXPECT_EQ(job.failure_kind, FailureKind::kVerifierFailed);
  EXPECT_EQ(job.reason, "agent: gave up");

  // While attempt 2 ran, job.json said running, with attempt 1's failure nowhere.
  for (int attempt : {1, 2}) {
    auto seen = ParseJson(ReadTestFile(job.job_dir / ("attempt-" + std::to_string(attempt)) /
                                       "job-while-running.json"),
                          "job.json");
    ASSERT_OK(seen);
    EXPECT_EQ((*seen)["status"], "running") << seen->dump(2);
    EXPECT_EQ((*seen)["step"], "agent");
    EXPECT_EQ((*seen)["attempts"], attempt);
    EXPECT_EQ((*seen)["failure_kind"], "");
    EXPECT_EQ((*seen)["reason"], "");
    EXPECT_FALSE(JobReportFromJson(*seen).has_value());  // Not a finished job's report.
  }
  auto final_json = ParseJson(ReadTestFile(job.job_dir / "job.json"), "job.json");
  ASSERT_OK(final_json);
  EXPECT_EQ((*final_json)["status"], "failed");
  EXPECT_EQ((*final_json)["failure_kind"], "verifier_failed");

  // The store saw each step as running and only the last as the end.
  auto store = OpenSqliteStateStore(options.state_dir / "state.db");
  ASSERT_OK(store);
  auto jobs = (*store)->ListJobs(report->run_id, std::nullopt);
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  auto steps = (*store)->ListSteps(jobs->front().id);
  ASSERT_OK(steps);
  std::vector<std::string> names;
  for (const auto& step : *steps) {
    names.push_back(step.step);
    bool last = &step == &steps->back();
    EXPECT_EQ(step.state, last ? JobState::kFailed : JobState::kRunning) << step.step;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"preparing", "prepared", "baseline", "waiting",
                                             "agent", "waiting", "agent", "agent"}));
}

}  // namespace
}  // namespace drover::fleet
