// End-to-end: a green final check must have run the tests the untouched tree ran. A change
// that breaks the code and then silences its tests (a module shadowing the test runner, a
// `test:` target turned into `true`) exits 0 and is still refused; nothing is pushed.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

std::map<std::string, std::string> ShopFiles() {
  return {
      {"Makefile", "test:\n\tpython3 -m unittest -q\n"},
      {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
      {"test_pricing.py",
       "import unittest\n\nimport pricing\n\n\nclass PricingTest(unittest.TestCase):\n"
       "    def total(self, items):\n"
       "        return (getattr(pricing, 'compute_sum', None) or pricing.compute_total)(items)\n\n"
       "    def test_total(self):\n        self.assertEqual(self.total([1, 2]), 3)\n\n"
       "    def test_empty(self):\n        self.assertEqual(self.total([]), 0)\n"},
      {".gitignore", "__pycache__/\n"}};
}

// The rename, done wrong (the function now returns 0), and then the tests silenced.
Json BrokenThenSilenced(const Json& silence) {
  return Json::array({Call("edit", {{"path", "pricing.py"},
                                    {"search", "def compute_total(items):\n    return sum(items)"},
                                    {"replace", "def compute_sum(items):\n    return 0"}}),
                      silence, Call("finish", {{"summary", "Renamed; tests pass."}})});
}

void ExpectRefusedForMissingTests(const std::map<std::string, std::string>& files,
                                  const Json& silence) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", files);
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("shop", BrokenThenSilenced(silence));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  std::string reason = job.value("reason", "");
  EXPECT_NE(reason.find("the tests the baseline ran did not run"), std::string::npos) << reason;
  EXPECT_NE(reason.find("the baseline ran 2 tests"), std::string::npos) << reason;
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/shop/pr.md"));
  EXPECT_EQ(Sh("git -C '" + repo.string() + "' branch --list 'drover/*'"), "");
}

TEST(TestEvidence, ShadowedTestRunnerIsRefused) {
  ExpectRefusedForMissingTests(
      ShopFiles(), Call("write_file", {{"path", "unittest.py"}, {"content", "# nothing\n"}}));
}

TEST(TestEvidence, TestTargetTurnedIntoTrueIsRefused) {
  ExpectRefusedForMissingTests(ShopFiles(), Call("edit", {{"path", "Makefile"},
                                                          {"search", "\tpython3 -m unittest -q"},
                                                          {"replace", "\t@true"}}));
}

TEST(TestEvidence, CorrectChangeShowsTheCountsBeforeAndAfter) {
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("shop", Json::array({Call("edit", {{"path", "pricing.py"},
                                                      {"search", "def compute_total(items):"},
                                                      {"replace", "def compute_sum(items):"}}),
                                        Call("finish", {{"summary", "Renamed."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(run.summary["jobs"][0]["status"], "published") << run.summary.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/shop/pr.md");
  EXPECT_NE(pr.find("| test | `make -s test` | passed ("), std::string::npos) << pr;
  EXPECT_EQ(pr.find("2 tests) | passed ("), pr.rfind("2 tests) | passed (")) << pr;
  EXPECT_NE(pr.find("2 tests) | passed ("), std::string::npos) << pr;
  EXPECT_NE(pr.find(", 2 tests) |\n"), std::string::npos) << pr;
}

}  // namespace
}  // namespace drover::e2e
