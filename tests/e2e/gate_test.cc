// End-to-end: the gate on a repository that was red before the change (no new failures),
// a flaky baseline, and the baseline cache.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

// A Python repository whose suite already fails (test_legacy) before the migration.
std::map<std::string, std::string> RedShopFiles() {
  return {{"Makefile", "test:\n\tpython3 -m unittest -q\n"},
          {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
          {"test_pricing.py",
           "import unittest\n\nimport pricing\n\n\nclass PricingTest(unittest.TestCase):\n"
           "    def test_total(self):\n"
           "        total = getattr(pricing, 'compute_sum', None) or pricing.compute_total\n"
           "        self.assertEqual(total([1, 2]), 3)\n\n"
           "    def test_legacy(self):\n        self.assertEqual(1, 2)\n"},
          {".gitignore", "__pycache__/\n"}};
}

std::string RedSpec() {
  std::string spec = StandardSpec();
  return spec.insert(spec.find("---\n", 4), "baseline:\n  on_red: no_new_failures\n");
}

const Json& OnlyJob(const DroverRun& run) { return run.summary["jobs"][0]; }

TEST(Gate, RedBaselineAcceptsAChangeWithNoNewFailures) {
  Fixture fx;
  fx.AddRepo("red", RedShopFiles());
  fx.WriteSpec(RedSpec());
  fx.WriteCassette(
      "red", Json::array({Call("edit",
                               {{"path", "pricing.py"},
                                {"search", "def compute_total(items):"},
                                {"replace", "def compute_sum(items):"}}),
                          // The agent's verify says which failures are its own: none.
                          Call("verify", Json::object()),
                          Call("finish", {{"summary", "Renamed."}}, "",
                               {"No new failures: you may finish."})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(OnlyJob(run)["status"], "published") << OnlyJob(run).dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/red/pr.md");
  EXPECT_NE(pr.find("Mode: **no new failures**"), std::string::npos) << pr;
  EXPECT_NE(pr.find("| test | `make -s test` | FAILED"), std::string::npos) << pr;
}

TEST(Gate, RedBaselineRefusesANewFailure) {
  Fixture fx;
  fx.AddRepo("red", RedShopFiles());
  fx.WriteSpec(RedSpec());
  Json finish = {{"summary", "Broke it."}};
  fx.WriteCassette("red", Json::array({Call("edit",
                                            {{"path", "pricing.py"},
                                             {"search", "return sum(items)"},
                                             {"replace", "return 0"}}),
                                       Call("finish", finish), Call("finish", finish),
                                       Call("finish", finish)}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(OnlyJob(run)["status"], "failed") << OnlyJob(run).dump(2);
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/red/pr.md"));
  // The agent was told which failure was new (test_total), not the old one.
  std::string transcript = ReadTestFile(run.run_dir / "jobs/red/attempt-1/transcript.jsonl");
  EXPECT_NE(transcript.find("New failures (1)"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("test_total"), std::string::npos);
}

TEST(Gate, FlakyBaselineIsRecordedAndTheBaselineIsCached) {
  Fixture fx;
  // Fails the first time it runs in a fresh tree, passes after: a flaky check.
  fx.AddRepo("flaky", {{"Makefile", "test:\n\t@test -f .ran || { touch .ran; exit 1; }\n"},
                       {"version.txt", "v1\n"},
                       {".gitignore", ".ran\n"}});
  fx.WriteSpec(StandardSpec());
  // The agent's checks start from the checkout plus its edits: its marker is one of them
  // (ignored, so the final check's fresh tree does not have it).
  Json exchanges = Json::array(
      {Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
       Call("write_file", {{"path", ".ran"}, {"content", ""}}),
       Call("finish", {{"summary", "Bumped."}})});
  fx.WriteCassette("flaky", exchanges);
  DroverRun first = fx.Run();
  ASSERT_TRUE(first.summary.is_object()) << first.output;
  EXPECT_EQ(OnlyJob(first)["status"], "published") << OnlyJob(first).dump(2);
  std::string pr = ReadTestFile(first.run_dir / "jobs/flaky/pr.md");
  EXPECT_NE(pr.find("passed, flaky"), std::string::npos) << pr;
  std::string baseline = OnlyJob(first)["baseline"];
  EXPECT_NE(baseline.find("passed on a second run"), std::string::npos) << baseline;

  DroverRun second = fx.Run();
  ASSERT_TRUE(second.summary.is_object()) << second.output;
  std::string cached = OnlyJob(second)["baseline"];
  EXPECT_NE(cached.find("(cached)"), std::string::npos) << cached;
}

// The judge vetoes the first attempt (scope creep); its reasons reach the second attempt,
// which the judge approves; the PR records both decisions.
TEST(Gate, JudgeVetoGoesBackToTheAgent) {
  Fixture fx;
  fx.AddRepo("judged", {{"Makefile", "test:\n\ttrue\n"},
                        {"version.txt", "v1\n"},
                        {"README.md", "Hello.\n"}});
  std::string spec = StandardSpec(2);
  fx.WriteSpec(spec.insert(spec.find("---\n", 4), "judge: true\n"));
  auto verdict = [](const std::string& json) {
    return Json{{"reply", {{"text", json}}}};
  };
  fx.WriteCassette(
      "judged",
      Json::array(
          {Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
           Call("write_file", {{"path", "README.md"}, {"content", "Hello, rewritten.\n"}}),
           Call("finish", {{"summary", "Bumped, and improved the README."}}),
           verdict(R"({"verdict": "veto", "reasons": ["README.md: not part of the migration"]})"),
           Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}, "",
                {"README.md: not part of the migration"}),
           Call("finish", {{"summary", "Bumped."}}),
           verdict(R"({"verdict": "approve", "reasons": ["does what was asked"]})")}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(OnlyJob(run)["status"], "published") << OnlyJob(run).dump(2);
  EXPECT_EQ(OnlyJob(run)["failure_kind"], "");  // The veto was of attempt 1 only.
  EXPECT_EQ(OnlyJob(run)["attempts"], 2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/judged/pr.md");
  EXPECT_NE(pr.find("judge: vetoed attempt 1 (README.md: not part of the migration)"),
            std::string::npos)
      << pr;
  EXPECT_NE(pr.find("judge: approved (does what was asked)"), std::string::npos) << pr;
  std::string patch = ReadTestFile(run.run_dir / "jobs/judged/pr.patch");
  EXPECT_EQ(patch.find("README.md"), std::string::npos) << patch;
  // The gate's record, one decision per line, in order.
  std::vector<std::string> decisions;
  for (const auto& event : ReadJsonl(run.run_dir / "jobs/judged/gate.jsonl")) {
    decisions.push_back(event.value("decision", "") + "@" + std::to_string(event.value("attempt", 0)));
  }
  EXPECT_EQ(decisions, (std::vector<std::string>{"verifiers@0", "baseline@0", "final_check@1",
                                                 "diff_policy@1", "judge@1", "final_check@2",
                                                 "diff_policy@2", "judge@2"}));
}

TEST(Gate, DiffPolicyRefusesDeletedTestsAndLeftoverNames) {
  Fixture fx;
  fx.AddRepo("shop", {{"Makefile", "test:\n\tpython3 -m unittest -q\n"},
                      {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
                      {"notes.txt", "compute_total is documented here\n"},
                      {"test_pricing.py",
                       "import unittest\n\nimport pricing\n\n\nclass T(unittest.TestCase):\n"
                       "    def test_total(self):\n"
                       "        self.assertEqual(pricing.compute_total([1]), 1)\n"}});
  std::string spec = StandardSpec();
  fx.WriteSpec(spec.insert(spec.find("---\n", 4), "policy:\n  must_be_gone: [compute_total]\n"));
  Json finish = {{"summary", "Renamed, and removed the test that broke."}};
  fx.WriteCassette("shop", Json::array({Call("edit",
                                             {{"path", "pricing.py"},
                                              {"search", "def compute_total(items):"},
                                              {"replace", "def compute_sum(items):"}}),
                                        Call("write_file", {{"path", "test_pricing.py"},
                                                            {"content", "import unittest\n"}}),
                                        Call("finish", finish)}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = OnlyJob(run);
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  std::string reason = job["reason"];
  EXPECT_NE(reason.find("diff policy: "), std::string::npos) << reason;
  EXPECT_EQ(job["failure_kind"], "diff_policy");
  EXPECT_NE(reason.find("test_total"), std::string::npos) << reason;
  EXPECT_NE(reason.find("more"), std::string::npos) << reason;  // notes.txt still names it.
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/shop/pr.md"));
}

TEST(Gate, DetectedVerifiersAndAnOptOut) {
  Fixture fx;
  fx.AddRepo("detected", {{"Makefile", "test:\n\t@grep -q v version.txt\n"},
                          {"version.txt", "v1\n"}});
  fx.AddRepo("optout", {{"Makefile", "test:\n\ttrue\n"},
                        {".drover.yml", "opt_out: true\nreason: frozen until the rewrite\n"}});
  fx.WriteSpec("---\nid: bump\ntitle: Bump\nverifiers: auto\nlimits:\n  max_attempts: 1\n---\n"
               "Write v2 into version.txt.\n");
  fx.WriteCassette("detected",
                   Json::array({Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
                                Call("finish", {{"summary", "Bumped."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(run.summary["jobs"][0]["status"], "published") << run.summary.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/detected/pr.md");
  EXPECT_NE(pr.find("| test | `make -s test` |"), std::string::npos) << pr;
  EXPECT_EQ(run.summary["jobs"][1]["status"], "skipped");
  EXPECT_EQ(run.summary["jobs"][1]["reason"],
            "the repository opted out in .drover.yml: frozen until the rewrite");
}

// A file the .gitignore hides never reaches the PR, so it cannot help the final check either.
TEST(Gate, IgnoredFilesCannotPassTheFinalCheck) {
  Fixture fx;
  fx.AddRepo("hidden", {{"Makefile", "test:\n\t@test -f pass.flag || ! grep -q broken notes.txt\n"},
                        {"notes.txt", "x\n"},
                        {".gitignore", "*.flag\n"}});
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("hidden", Json::array({Call("write_file", {{"path", "pass.flag"}, {"content", ""}}),
                                          Call("write_file", {{"path", "notes.txt"}, {"content", "broken\n"}}),
                                          Call("finish", {{"summary", "Done."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(OnlyJob(run)["status"], "failed") << OnlyJob(run).dump(2);
  std::string reason = OnlyJob(run)["reason"];
  EXPECT_NE(reason.find("final check failed"), std::string::npos) << reason;
  EXPECT_EQ(OnlyJob(run)["failure_kind"], "verifier_failed");
}

// A repository of its own inside the workspace (created by `git init`, or a .git file
// pointing elsewhere) holds files the tests need but that a commit would leave out. The
// runner's commit refuses it by name, and nothing is pushed.
TEST(Gate, NestedRepositoryFailsTheJobAndNothingIsPushed) {
  Fixture fx;
  std::map<std::string, std::string> files = {
      {"Makefile", "test:\n\t@if grep -q v2 version.txt; then sh shim/helper.sh; fi\n"},
      {"version.txt", "v1\n"}};
  auto by_init = fx.AddRepo("byinit", files);
  auto by_file = fx.AddRepo("byfile", files);
  fx.WriteSpec(StandardSpec());
  auto exchanges = [](const std::string& make_repo) {
    return Json::array(
        {Call("run",
              {{"command", "mkdir -p shim && echo 'exit 0' > shim/helper.sh && " + make_repo}}),
         Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
         Call("verify", Json::object()),
         Call("finish", {{"summary", "Bumped, with a helper."}})});
  };
  fx.WriteCassette("byinit", exchanges("git init -q shim && test -d shim/.git"));
  fx.WriteCassette("byfile", exchanges("echo 'gitdir: /nowhere' > shim/.git"));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  for (const auto& job : run.summary["jobs"]) {
    EXPECT_EQ(job["status"], "failed") << job.dump(2);
    std::string name = job["repository"];
    std::string reason = job["reason"];
    EXPECT_NE(reason.find("nested repository at shim"), std::string::npos) << job.dump(2);
    EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs" / name / "pr.md"));
  }
  EXPECT_EQ(run.summary["jobs"].size(), 2u);
  for (const auto& repo : {by_init, by_file}) {
    EXPECT_EQ(Sh("git -C '" + repo.string() + "' branch --list 'drover/*'"), "") << repo;
  }
}

// Attributes the change adds (`-diff`, `binary`, a diff driver) cannot hide it: the diff
// policy judges the textual patch, sees the deleted test and counts the planted lines.
TEST(Gate, GitattributesCannotHideTheChangeFromTheDiffPolicy) {
  Fixture fx;
  fx.AddRepo("attrs", {{"Makefile", "test:\n\tpython3 -m unittest -q\n"},
                       {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
                       {"test_pricing.py",
                        "import unittest\n\nimport pricing\n\n\nclass T(unittest.TestCase):\n"
                        "    def test_sum(self):\n"
                        "        self.assertEqual(Sum()([1]), 1)\n\n"
                        "    def test_empty(self):\n"
                        "        self.assertEqual(Sum()([]), 0)\n\n\n"
                        "def Sum():\n"
                        "    return getattr(pricing, 'compute_sum', None) or pricing.compute_total\n"},
                       {".gitignore", "__pycache__/\n"}});
  fx.WriteSpec(StandardSpec());
  Json finish = {{"summary", "Renamed."}};
  fx.WriteCassette(
      "attrs",
      Json::array({Call("write_file", {{"path", ".gitattributes"},
                                       {"content", "*.py -diff\n*.txt binary\n*.c diff=x\n"}}),
                   Call("write_file", {{"path", "pricing.py"},
                                       {"content",
                                        "import os\n\n\ndef compute_sum(items):\n"
                                        "    os.system('true planted')\n    return sum(items)\n"}}),
                   Call("write_file",
                        {{"path", "test_pricing.py"},
                         {"content",
                          "import unittest\n\nimport pricing\n\n\nclass T(unittest.TestCase):\n"
                          "    def test_sum(self):\n"
                          "        self.assertEqual(Sum()([1]), 1)\n\n\n"
                          "def Sum():\n"
                          "    return getattr(pricing, 'compute_sum', None) or pricing.compute_total\n"}}),
                   Call("finish", finish)}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = OnlyJob(run);
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  EXPECT_EQ(job["failure_kind"], "diff_policy");
  std::string reason = job["reason"];
  EXPECT_NE(reason.find("test_empty"), std::string::npos) << reason;
  // The line counts come from the textual diff, not "Binary files differ".
  EXPECT_GT(job["lines_added"].get<int>(), 5) << job.dump(2);
}

}  // namespace
}  // namespace drover::e2e
