#include "verifiers/test_evidence.h"

#include <gtest/gtest.h>

#include "tests/testing/testing.h"
#include "verifiers/verifier.h"

namespace drover::verifiers {
namespace {

TEST(TestEvidence, ReadsTheSummariesOfCommonRunners) {
  EXPECT_EQ(CountTestsRun("..\n------\nRan 12 tests in 0.004s\n\nOK\n"), 12);
  EXPECT_EQ(CountTestsRun("Ran 1 test in 0.000s\n\nFAILED (failures=1)\n"), 1);
  EXPECT_EQ(CountTestsRun("===== 3 passed, 1 failed, 2 skipped in 0.12s =====\n"), 4);
  EXPECT_EQ(CountTestsRun("901 passed, 4 xfailed in 31.02s\n"), 905);
  EXPECT_EQ(CountTestsRun("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured\n"
                          "test result: FAILED. 2 passed; 1 failed; 0 ignored\n"),
            8);
  EXPECT_EQ(CountTestsRun("Tests:       1 failed, 3 passed, 4 total\n"), 4);
  EXPECT_EQ(CountTestsRun("100% tests passed, 0 tests failed out of 7\n"), 7);
  EXPECT_EQ(CountTestsRun("=== RUN   TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\n"),
            2);
  EXPECT_EQ(CountTestsRun("ok  \texample.com/a\t0.012s\nok  \texample.com/b\t(cached)\n"
                          "?   \texample.com/c\t[no test files]\n"),
            2);
  EXPECT_EQ(CountTestsRun("  9 passing (12ms)\n  1 failing\n"), 10);
  EXPECT_EQ(CountTestsRun("# tests 3\n# pass 3\n"), 3);
  EXPECT_EQ(CountTestsRun("[INFO] Tests run: 2, Failures: 0, Errors: 0, Skipped: 0, Time\n"
                          "[INFO] Tests run: 3, Failures: 0, Errors: 0, Skipped: 0, Time\n"
                          "[INFO] Results:\n"
                          "[INFO] Tests run: 5, Failures: 0, Errors: 0, Skipped: 0\n"),
            5);
}

TEST(TestEvidence, NothingRecognisedIsNoEvidence) {
  EXPECT_EQ(CountTestsRun(""), std::nullopt);
  EXPECT_EQ(CountTestsRun("all good\nbuild ok\n"), std::nullopt);
  EXPECT_EQ(CountTestsRun("gcc -o app main.c\n"), std::nullopt);
}

// The real output of Python's unittest, as a verifier captures it (stderr and stdout).
TEST(TestEvidence, ReadsRealUnittestOutput) {
  testing::TempDir dir;
  testing::WriteTestFile(dir.path(), "test_a.py",
                         "import unittest\n\nclass A(unittest.TestCase):\n"
                         "    def test_one(self):\n        pass\n\n"
                         "    def test_two(self):\n        pass\n");
  std::string output = testing::Sh("cd '" + dir.path().string() + "' && python3 -m unittest -q");
  EXPECT_EQ(CountTestsRun(output), 2) << output;
}

VerifierReport Report(std::string name, std::optional<int> tests) {
  VerifierReport report;
  VerifierResult result;
  result.name = std::move(name);
  result.passed = true;
  result.tests_run = tests;
  report.results.push_back(result);
  return report;
}

TEST(TestEvidence, FinalMustRunWhatTheBaselineRan) {
  EXPECT_TRUE(MissingTestEvidence(Report("test", 12), Report("test", 12), false).empty());
  EXPECT_TRUE(MissingTestEvidence(Report("test", 12), Report("test", 13), false).empty());
  auto none = MissingTestEvidence(Report("test", 12), Report("test", std::nullopt), false);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0], "test: the baseline ran 12 tests, the final check none it could read");
  auto fewer = MissingTestEvidence(Report("test", 12), Report("test", 3), false);
  ASSERT_EQ(fewer.size(), 1u);
  EXPECT_EQ(fewer[0], "test: the baseline ran 12 tests, the final check 3");
  // Deleting or skipping tests allowed: fewer is fine, none is not.
  EXPECT_TRUE(MissingTestEvidence(Report("test", 12), Report("test", 3), true).empty());
  EXPECT_EQ(MissingTestEvidence(Report("test", 12), Report("test", 0), true).size(), 1u);
  // A baseline with no evidence (a build, a lint) asks for none.
  EXPECT_TRUE(
      MissingTestEvidence(Report("build", std::nullopt), Report("build", std::nullopt), false)
          .empty());
}

TEST(TestEvidence, CountSurvivesTheCachedBaseline) {
  VerifierReport report = Report("test", 7);
  auto read = VerifierReportFromJson(report.ToJson());
  ASSERT_OK(read);
  ASSERT_EQ(read->results.size(), 1u);
  EXPECT_EQ(read->results[0].tests_run, 7);
  auto none = VerifierReportFromJson(Report("lint", std::nullopt).ToJson());
  ASSERT_OK(none);
  EXPECT_EQ(none->results[0].tests_run, std::nullopt);
}

}  // namespace
}  // namespace drover::verifiers
