#include "verifiers/test_evidence.h"

#include "tests/testing/testing.h"
#include "verifiers/verifier.h"

namespace drover::verifiers {
namespace {

using drover::testing::TempDir;

TestEvidence Read(std::string_view output) {
  auto evidence = ReadTestEvidence(output);
  EXPECT_TRUE(evidence.has_value()) << output;
  return evidence.value_or(TestEvidence{});
}

TEST(ReadTestEvidence, UnittestCountsAndVerboseNames) {
  auto quiet = Read(
      "...s\n----------------------------------------------------------------------\n"
      "Ran 4 tests in 0.001s\n\nOK (skipped=1)\n");
  EXPECT_EQ(quiet.ran, 3);
  EXPECT_FALSE(quiet.names_complete);  // -q prints no names.
  auto verbose = Read(
      "test_sum (tests.test_cart.CartTest.test_sum) ... ok\n"
      "test_total (tests.test_cart.CartTest.test_total) ... FAIL\n"
      "\nRan 2 tests in 0.002s\n\nFAILED (failures=1)\n");
  EXPECT_EQ(verbose.ran, 2);
  EXPECT_TRUE(verbose.names_complete);
  EXPECT_EQ(verbose.names,
            (std::vector<std::string>{"test_sum (tests.test_cart.CartTest.test_sum)",
                                      "test_total (tests.test_cart.CartTest.test_total)"}));
  EXPECT_EQ(verbose.formats, "unittest");
}

TEST(ReadTestEvidence, PytestCargoGoJestNodeCtestSurefire) {
  EXPECT_EQ(Read("tests/test_a.py::test_one PASSED [ 50%]\n"
                 "tests/test_a.py::test_two FAILED [100%]\n"
                 "===== 1 failed, 1 passed, 3 skipped in 0.12s =====\n")
                .ran,
            2);
  EXPECT_EQ(Read("3 passed in 0.01s\n").ran, 3);
  auto cargo = Read(
      "test cart::tests::sum ... ok\ntest cart::tests::slow ... ignored\n"
      "test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured\n");
  EXPECT_EQ(cargo.ran, 1);
  EXPECT_EQ(cargo.names, std::vector<std::string>{"cart::tests::sum"});
  auto go = Read(
      "=== RUN   TestSum\n--- PASS: TestSum (0.00s)\n--- FAIL: TestTotal (0.01s)\n"
      "FAIL\texample.com/cart\t0.01s\n");
  EXPECT_EQ(go.ran, 2);
  EXPECT_EQ(Read("ok  \texample.com/cart\t0.01s\nok  \texample.com/shop\t0.02s\n").ran, 2);
  EXPECT_EQ(Read("Tests:       1 failed, 5 passed, 6 total\n").ran, 6);
  EXPECT_EQ(Read(" \x1b[32mTests\x1b[39m  4 passed | 1 skipped (5)\n").ran, 4);
  auto node = Read(
      "TAP version 13\nok 1 - sums\nnot ok 2 - totals\n# tests 2\n# pass 1\n"
      "# fail 1\n");
  EXPECT_EQ(node.ran, 2);
  EXPECT_EQ(node.names, (std::vector<std::string>{"sums", "totals"}));
  EXPECT_EQ(Read("1/2 Test #1: unit ....   Passed  0.01 sec\n"
                 "100% tests passed, 0 tests failed out of 2\n")
                .ran,
            2);
  EXPECT_EQ(Read("[INFO] Tests run: 2, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 0.1 s\n"
                 "[INFO] Results:\n[INFO] Tests run: 5, Failures: 0, Errors: 0, Skipped: 1\n")
                .ran,
            4);
}

TEST(ReadTestEvidence, JunitXmlTestcases) {
  auto evidence = ReadTestEvidence(
      "", {"<testsuite><testcase classname=\"a.CartTest\" name=\"sums\" time=\"0\"/>"
           "<testcase classname='a.CartTest' name='skips'><skipped/></testcase>"
           "<testcase classname=\"a.CartTest\" name=\"totals\"><failure>x</failure></testcase>"
           "</testsuite>"});
  ASSERT_TRUE(evidence);
  EXPECT_EQ(evidence->ran, 2);
  EXPECT_EQ(evidence->names, (std::vector<std::string>{"a.CartTest.sums", "a.CartTest.totals"}));
}

TEST(ReadTestEvidence, NothingATestRunnerPrints) {
  EXPECT_FALSE(ReadTestEvidence(""));
  EXPECT_FALSE(ReadTestEvidence("make: Nothing to be done for 'test'.\nall good\n"));
  EXPECT_FALSE(ReadTestEvidence("gcc -c a.c\nok\n"));
}

TEST(EvidenceShortfall, FewerTestsOrMissingNamesOrNoneAtAll) {
  TestEvidence before{3, {"a", "b", "c"}, true, "unittest"};
  EXPECT_TRUE(EvidenceShortfall(before, before).empty());
  TestEvidence more{4, {"a", "b", "c", "d"}, true, "unittest"};
  EXPECT_TRUE(EvidenceShortfall(before, more).empty());

  auto none = EvidenceShortfall(before, std::nullopt);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_NE(none[0].find("the baseline ran 3 tests, the final check none"), std::string::npos) << none[0];

  TestEvidence fewer{1, {"a"}, true, "unittest"};
  auto reasons = EvidenceShortfall(before, fewer);
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[0], "the baseline ran 3 tests, the final check 1");
  EXPECT_EQ(reasons[1], "2 test(s) the baseline ran did not run: b, c");

  // Same count, other names: replaced tests are missing ones.
  TestEvidence renamed{3, {"a", "b", "x"}, true, "unittest"};
  auto swapped = EvidenceShortfall(before, renamed);
  ASSERT_EQ(swapped.size(), 1u);
  EXPECT_EQ(swapped[0], "1 test(s) the baseline ran did not run: c");

  // Names that are known to be partial are not compared; counts still are.
  TestEvidence partial{3, {"a"}, false, "unittest"};
  EXPECT_TRUE(EvidenceShortfall(before, partial).empty());
}

TEST(EvidenceJson, RoundTripsThroughTheReport) {
  VerifierReport report;
  VerifierResult result;
  result.name = "test";
  result.passed = true;
  result.evidence = TestEvidence{2, {"a", "b"}, true, "pytest"};
  report.results.push_back(result);
  auto back = VerifierReportFromJson(report.ToJson());
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->results[0].evidence);
  EXPECT_EQ(back->results[0].evidence->ran, 2);
  EXPECT_EQ(back->results[0].evidence->names, (std::vector<std::string>{"a", "b"}));
  Json bad = report.ToJson();
  bad["results"][0]["tests"] = "many";
  EXPECT_FALSE(VerifierReportFromJson(bad));
}

// Real runs: a real unittest suite, then the two ways a change can make the same command exit
// 0 without running it: a module shadowing the test runner, and a recipe that does nothing.
TEST(MissingTestRuns, ShadowedRunnerAndEmptyRecipeAreShortfalls) {
  TempDir dir;
  drover::testing::WriteTestFile(dir.path(), "test_cart.py",
                                 "import unittest\n"
                                 "class CartTest(unittest.TestCase):\n"
                                 "    def test_sum(self): self.assertEqual(1 + 1, 2)\n"
                                 "    def test_total(self): self.assertTrue(True)\n");
  drover::testing::WriteTestFile(dir.path(), "Makefile", "test:\n\tpython3 -m unittest -v\n");
  auto runner = sandbox::MakeLocalProcessRunner();
  std::map<std::string, std::string> env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  std::vector<VerifierSpec> specs = {{"test", "make -s test", std::chrono::seconds(60)}};
  VerifierReport baseline = RunVerifiers(*runner, specs, dir.path(), env);
  ASSERT_TRUE(baseline.passed()) << baseline.results[0].output;
  ASSERT_TRUE(baseline.results[0].evidence) << baseline.results[0].output;
  EXPECT_EQ(baseline.results[0].evidence->ran, 2);
  EXPECT_TRUE(
      MissingTestRuns(specs, baseline, RunVerifiers(*runner, specs, dir.path(), env)).empty());

  drover::testing::WriteTestFile(dir.path(), "unittest.py", "import sys\nsys.exit(0)\n");
  VerifierReport shadowed = RunVerifiers(*runner, specs, dir.path(), env);
  EXPECT_TRUE(shadowed.passed());  // The exit status alone says green.
  auto missing = MissingTestRuns(specs, baseline, shadowed);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("test: the baseline ran 2 tests"), std::string::npos) << missing[0];
  std::filesystem::remove(dir.path() / "unittest.py");

  drover::testing::WriteTestFile(dir.path(), "Makefile", "test:\n\t@true\n");
  EXPECT_EQ(MissingTestRuns(specs, baseline, RunVerifiers(*runner, specs, dir.path(), env)).size(),
            1u);

  // A check marked as reading no tests is not held to them.
  auto unchecked = specs;
  unchecked[0].require_test_evidence = false;
  EXPECT_TRUE(
      MissingTestRuns(unchecked, baseline, RunVerifiers(*runner, specs, dir.path(), env)).empty());
  // One that requires evidence fails closed even when the baseline showed none.
  auto required = specs;
  required[0].require_test_evidence = true;
  VerifierReport silent = RunVerifiers(*runner, specs, dir.path(), env);
  EXPECT_EQ(MissingTestRuns(required, silent, silent).size(), 1u);
}

}  // namespace
}  // namespace drover::verifiers
