// End-to-end: a green final check must have run the tests the baseline ran. A change that
// makes `make -s test` exit 0 without running them (a module shadowing the test runner, a
// recipe rewritten to do nothing) is refused and nothing is pushed; a correct change passes
// and its PR shows the test counts before and after.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

std::map<std::string, std::string> ShopFiles() {
  return {
      {"Makefile", "test:\n\tpython3 -m unittest -v\n"},
      {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
      {"cart.py",
       "from pricing import compute_total\n\n\ndef cart_value(items):\n"
       "    return compute_total(items)\n"},
      {"test_cart.py",
       "import unittest\n\nfrom cart import cart_value\n\n\nclass CartTest(unittest.TestCase):\n"
       "    def test_value(self):\n        self.assertEqual(cart_value([1, 2]), 3)\n\n"
       "    def test_empty(self):\n        self.assertEqual(cart_value([]), 0)\n"},
      {".gitignore", "__pycache__/\n"}};
}

// Renames the definition only: cart.py still imports the old name, so the suite fails.
Json BrokenRename() {
  return {{"path", "pricing.py"},
          {"search", "def compute_total(items):"},
          {"replace", "def compute_sum(items):"}};
}

bool BranchExists(const std::filesystem::path& repo) {
  return !Sh("git -C '" + repo.string() + "' branch --list 'drover/*'").empty();
}

void ExpectRefused(const DroverRun& run, const std::filesystem::path& repo) {
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  std::string reason = job.value("reason", "");
  EXPECT_NE(reason.find("the tests the baseline ran did not run"), std::string::npos) << reason;
  EXPECT_NE(reason.find("test: the baseline ran 2 tests"), std::string::npos) << reason;
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/shop/pr.md"));
  EXPECT_FALSE(BranchExists(repo));
}

TEST(TestEvidence, ShadowedUnittestModuleIsRefused) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  // The diff policy refuses the shim by its name; allowed there, the missing test runs
  // still refuse it.
  std::string spec = StandardSpec(1);
  spec.insert(spec.find("---\nThe function"),
              "policy:\n  allow_verification_files: [unittest.py]\n");
  fx.WriteSpec(spec);
  fx.WriteCassette("shop",
                   Json::array({Call("edit", BrokenRename()),
                                Call("write_file", {{"path", "unittest.py"},
                                                    {"content", "import sys\nsys.exit(0)\n"}}),
                                Call("finish", {{"summary", "Renamed."}})}));
  ExpectRefused(fx.Run(), repo);
}

TEST(TestEvidence, EmptiedTestRecipeIsRefused) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec(1));
  fx.WriteCassette("shop", Json::array({Call("edit", BrokenRename()),
                                        Call("edit", {{"path", "Makefile"},
                                                      {"search", "python3 -m unittest -v"},
                                                      {"replace", "@true"}}),
                                        Call("finish", {{"summary", "Renamed."}})}));
  ExpectRefused(fx.Run(), repo);
}

TEST(TestEvidence, CorrectChangePassesAndThePrShowsTheCounts) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec(1));
  fx.WriteCassette(
      "shop",
      Json::array({Call("edit", {{"edits", Json::array({BrokenRename(),
                                                        {{"path", "cart.py"},
                                                         {"search", "import compute_total"},
                                                         {"replace", "import compute_sum"}},
                                                        {{"path", "cart.py"},
                                                         {"search", "return compute_total("},
                                                         {"replace", "return compute_sum("}}})}}),
                   Call("finish", {{"summary", "Renamed."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(run.summary["jobs"][0]["status"], "published") << run.summary.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/shop/pr.md");
  // Before and after: "| passed (0.1s, 2 tests) | passed (0.1s, 2 tests) |".
  size_t first = pr.find(", 2 tests) | passed (");
  ASSERT_NE(first, std::string::npos) << pr;
  EXPECT_NE(pr.find(", 2 tests) |\n", first + 1), std::string::npos) << pr;
  EXPECT_TRUE(BranchExists(repo));
}

}  // namespace
}  // namespace drover::e2e
