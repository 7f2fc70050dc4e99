// The runner's refusal to work without a sandbox, with a helper that cannot isolate.
#include "fleet/runner.h"

#include <gtest/gtest.h>

#include "fleet/run_deps.h"
#include "sandbox/process.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

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

}  // namespace
}  // namespace drover::fleet
