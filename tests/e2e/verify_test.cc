// End-to-end: `drover verify` detects a repository's verifiers, applies its .drover.yml and
// runs them (isolated, or plain with --sandbox none), and says why it failed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json.h"
#include "sandbox/process.h"
#include "tests/testing/testing.h"

namespace drover::e2e {
namespace {

using drover::testing::TempDir;
using drover::testing::WriteTestFile;

struct Verify {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Verify RunVerify(const std::filesystem::path& repo, const std::vector<std::string>& args) {
  sandbox::ProcessSpec spec;
  spec.argv = {DROVER_BINARY, "verify", "--repo", repo.string()};
  for (const auto& arg : args) spec.argv.push_back(arg);
  spec.cwd = repo.parent_path();
  spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  spec.timeout = std::chrono::seconds(120);
  auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
  Verify out;
  if (!result) {
    ADD_FAILURE() << result.error().ToString();
    return out;
  }
  out.exit_code = result->timed_out ? -1 : result->exit_code;
  out.output = result->output;
  return out;
}

void WritePythonRepo(const std::filesystem::path& dir) {
  WriteTestFile(dir, "calc.py", "def add(a, b):\n    return a + b\n");
  WriteTestFile(dir, "test_calc.py",
                "import unittest\n\nimport calc\n\n\n"
                "class CalcTest(unittest.TestCase):\n"
                "    def test_add(self):\n"
                "        self.assertEqual(calc.add(2, 3), 5)\n\n\n"
                "if __name__ == '__main__':\n    unittest.main()\n");
}

TEST(Verify, PassingPythonRepositoryInTheSandbox) {
  TempDir dir;
  WritePythonRepo(dir.path());
  Verify run = RunVerify(dir.path(), {});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("python3 -m unittest"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("test*.py files"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("All verifiers passed: test: passed"), std::string::npos) << run.output;
}

TEST(Verify, FailingMakefileTestShowsTheDistilledFailure) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile",
                "test:\n\t@echo 'calc_test.c:12: error: expected 5, got 6' && exit 1\n");
  Verify run = RunVerify(dir.path(), {"--sandbox", "none"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("make -s test"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Verifiers failed: test: FAILED"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("expected 5, got 6"), std::string::npos) << run.output;
}

TEST(Verify, DryRunJsonListsDetectionAndConfigWithoutRunning) {
  TempDir dir;
  WritePythonRepo(dir.path());
  // Would fail if it ran: a dry run must not run it.
  WriteTestFile(dir.path(), ".drover.yml",
                "verifiers:\n  - name: lint\n    command: exit 7\n    timeout: 30\n");
  Verify run = RunVerify(dir.path(), {"--dry-run", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto json = ParseJson(run.output, "drover verify output");
  ASSERT_OK(json);
  ASSERT_EQ((*json)["detected"].size(), 1u) << run.output;
  EXPECT_EQ((*json)["detected"][0]["command"], "python3 -m unittest discover -q");
  EXPECT_EQ((*json)["detected"][0]["why"], "test*.py files");
  EXPECT_EQ((*json)["config"]["verifiers"][0]["name"], "lint");
  ASSERT_EQ((*json)["verifiers"].size(), 2u);
  EXPECT_EQ((*json)["verifiers"][1]["command"], "exit 7");
  EXPECT_EQ((*json)["verifiers"][1]["timeout_seconds"], 30);
  EXPECT_TRUE((*json)["report"].is_null());
}

TEST(Verify, RepoConfigDisablesAndReplaces) {
  TempDir dir;
  WriteTestFile(dir.path(), "Makefile", "all:\n\t@exit 3\ntest:\n\t@exit 4\n");
  WriteTestFile(
      dir.path(), ".drover.yml",
      "disable_verifiers: [build]\nverifiers:\n  - name: test\n    command: echo own-test\n");
  Verify run = RunVerify(dir.path(), {"--sandbox", "none", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto json = ParseJson(run.output, "drover verify output");
  ASSERT_OK(json);
  const Json& results = (*json)["report"]["results"];
  ASSERT_EQ(results.size(), 1u) << run.output;
  EXPECT_EQ(results[0]["command"], "echo own-test");
  EXPECT_EQ(results[0]["passed"], true);
}

TEST(Verify, BadRepoConfigIsInvalidInputNamingTheLine) {
  TempDir dir;
  WritePythonRepo(dir.path());
  WriteTestFile(dir.path(), ".drover.yml", "opt_out: false\ndisable: [lint]\n");
  Verify run = RunVerify(dir.path(), {"--dry-run"});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find(".drover.yml:2: disable: unknown field"), std::string::npos)
      << run.output;
}

TEST(Verify, MissingRepositoryAndBadSandboxValue) {
  TempDir dir;
  Verify missing = RunVerify(dir / "nope", {"--dry-run"});
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  Verify usage = RunVerify(dir.path(), {"--sandbox", "sometimes"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace drover::e2e
