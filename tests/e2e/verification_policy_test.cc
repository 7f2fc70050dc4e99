// End-to-end: a change that alters how its own verification runs, or weakens its tests, is
// caught by the diff policy before anything is pushed. A module shadowing the test runner is
// refused by its name even when it prints a convincing runner summary; a changed `test`
// recipe and assertions replaced by constants are listed in the PR, or refused when the spec
// says so; a correct rename that touches tests passes with nothing listed.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

constexpr const char* kSection = "## Changes to how this change is verified";

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
      {"test_pricing.py",
       "import unittest\n\nfrom pricing import compute_total\n\n\n"
       "class PricingTest(unittest.TestCase):\n"
       "    def test_total(self):\n        self.assertEqual(compute_total([2, 3]), 5)\n"},
      {".gitignore", "__pycache__/\n"}};
}

// The spec of these tests with `policy` lines added.
std::string SpecWith(const std::string& policy) {
  std::string spec = StandardSpec(1);
  if (!policy.empty()) spec.insert(spec.find("---\nThe function"), "policy:\n" + policy);
  return spec;
}

// The whole rename: definition, caller and the test that calls it.
Json CorrectRename() {
  return {{"edits", Json::array({{{"path", "pricing.py"},
                                  {"search", "def compute_total(items):"},
                                  {"replace", "def compute_sum(items):"}},
                                 {{"path", "cart.py"},
                                  {"search", "import compute_total"},
                                  {"replace", "import compute_sum"}},
                                 {{"path", "cart.py"},
                                  {"search", "return compute_total("},
                                  {"replace", "return compute_sum("}},
                                 {{"path", "test_pricing.py"},
                                  {"search", "import compute_total"},
                                  {"replace", "import compute_sum"}},
                                 {{"path", "test_pricing.py"},
                                  {"search", "assertEqual(compute_total("},
                                  {"replace", "assertEqual(compute_sum("}}})}};
}

bool BranchExists(const std::filesystem::path& repo) {
  return !Sh("git -C '" + repo.string() + "' branch --list 'drover/*'").empty();
}

const Json& OnlyJob(const DroverRun& run) {
  static const Json kNone;
  if (!run.summary.is_object() || !run.summary.contains("jobs")) return kNone;
  return run.summary["jobs"][0];
}

void ExpectRefusedFor(const DroverRun& run, const std::filesystem::path& repo,
                      const std::vector<std::string>& words) {
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = OnlyJob(run);
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  EXPECT_EQ(job.value("failure_kind", ""), "diff_policy") << job.dump(2);
  std::string reason = job.value("reason", "");
  EXPECT_TRUE(reason.starts_with("diff policy: ")) << reason;
  for (const std::string& word : words) {
    EXPECT_NE(reason.find(word), std::string::npos) << word << " not in: " << reason;
  }
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/shop/pr.md"));
  EXPECT_FALSE(BranchExists(repo));
}

TEST(VerificationPolicy, RunnerShimPrintingAFakeSummaryIsRefusedByName) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(SpecWith(""));
  // A broken rename, and a root unittest.py that `python3 -m unittest -v` runs instead of the
  // standard library's: it prints what the real run printed, by name and count, and exits 0.
  const std::string shim =
      "import sys\n"
      "for name in ['test_empty (test_cart.CartTest.test_empty)',\n"
      "             'test_value (test_cart.CartTest.test_value)',\n"
      "             'test_total (test_pricing.PricingTest.test_total)']:\n"
      "    print(name + ' ... ok', file=sys.stderr)\n"
      "print('\\n' + '-' * 70 + '\\nRan 3 tests in 0.001s\\n\\nOK', file=sys.stderr)\n";
  fx.WriteCassette("shop",
                   Json::array({Call("edit", {{"path", "pricing.py"},
                                              {"search", "def compute_total(items):"},
                                              {"replace", "def compute_sum(items):"}}),
                                Call("write_file", {{"path", "unittest.py"}, {"content", shim}}),
                                Call("finish", {{"summary", "Renamed."}})}));
  ExpectRefusedFor(
      fx.Run(), repo,
      {"adds unittest.py", "the Python module unittest", "policy.allow_verification_files"});
}

// The correct rename plus `-b` on the test recipe: the tests still run and pass.
Json RecipeEdit() {
  return {{"path", "Makefile"},
          {"search", "python3 -m unittest -v"},
          {"replace", "python3 -m unittest -v -b"}};
}

TEST(VerificationPolicy, ChangedTestRecipeIsListedInThePrByDefault) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(SpecWith(""));
  fx.WriteCassette("shop", Json::array({Call("edit", CorrectRename()), Call("edit", RecipeEdit()),
                                        Call("finish", {{"summary", "Renamed."}})}));
  DroverRun run = fx.Run();
  const Json& job = OnlyJob(run);
  ASSERT_EQ(job.value("status", ""), "published") << run.output << job.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/shop/pr.md");
  size_t section = pr.find(kSection);
  ASSERT_NE(section, std::string::npos) << pr;
  EXPECT_NE(pr.find("- changes Makefile, which defines how verification runs", section),
            std::string::npos)
      << pr;
  EXPECT_EQ(job["verification_changes"].size(), 1u) << job.dump(2);
  EXPECT_TRUE(job["weakened_tests"].empty()) << job.dump(2);
  EXPECT_TRUE(BranchExists(repo));
}

TEST(VerificationPolicy, ChangedTestRecipeIsRefusedWhenTheSpecSaysSo) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(SpecWith("  verification_changes: refuse\n"));
  fx.WriteCassette("shop", Json::array({Call("edit", CorrectRename()), Call("edit", RecipeEdit()),
                                        Call("finish", {{"summary", "Renamed."}})}));
  ExpectRefusedFor(fx.Run(), repo,
                   {"changes Makefile", "Makefile:2", "policy.verification_changes is refuse"});
}

// A rename that breaks cart_value, hidden by assertions replaced with constants.
Json WeakeningEdits() {
  return {{"edits", Json::array({{{"path", "pricing.py"},
                                  {"search", "def compute_total(items):\n    return sum(items)"},
                                  {"replace", "def compute_sum(items):\n    return 0"}},
                                 {{"path", "cart.py"},
                                  {"search", "import compute_total"},
                                  {"replace", "import compute_sum"}},
                                 {{"path", "cart.py"},
                                  {"search", "return compute_total("},
                                  {"replace", "return compute_sum("}},
                                 {{"path", "test_cart.py"},
                                  {"search", "self.assertEqual(cart_value([1, 2]), 3)"},
                                  {"replace", "self.assertTrue(True)"}},
                                 {{"path", "test_pricing.py"},
                                  {"search", "import compute_total"},
                                  {"replace", "import compute_sum"}},
                                 {{"path", "test_pricing.py"},
                                  {"search", "self.assertEqual(compute_total([2, 3]), 5)"},
                                  {"replace", "self.assertEqual(5, 5)"}}})}};
}

TEST(VerificationPolicy, AssertionsReplacedByConstantsAreListedOrRefused) {
  {
    Fixture fx;
    auto repo = fx.AddRepo("shop", ShopFiles());
    fx.WriteSpec(SpecWith(""));
    fx.WriteCassette("shop", Json::array({Call("edit", WeakeningEdits()),
                                          Call("finish", {{"summary", "Renamed."}})}));
    DroverRun run = fx.Run();
    const Json& job = OnlyJob(run);
    ASSERT_EQ(job.value("status", ""), "published") << run.output << job.dump(2);
    std::string pr = ReadTestFile(run.run_dir / "jobs/shop/pr.md");
    size_t section = pr.find(kSection);
    ASSERT_NE(section, std::string::npos) << pr;
    EXPECT_NE(pr.find("- weakened tests: changes test_cart.py with assertions that are always "
                      "true (test_cart.py:8)",
                      section),
              std::string::npos)
        << pr;
    EXPECT_NE(pr.find("changes test_pricing.py with 1 fewer assertion", section),
              std::string::npos)
        << pr;
    EXPECT_EQ(job["weakened_tests"].size(), 4u) << job.dump(2);
  }
  {
    Fixture fx;
    auto repo = fx.AddRepo("shop", ShopFiles());
    fx.WriteSpec(SpecWith("  weakened_tests: refuse\n"));
    fx.WriteCassette("shop", Json::array({Call("edit", WeakeningEdits()),
                                          Call("finish", {{"summary", "Renamed."}})}));
    ExpectRefusedFor(
        fx.Run(), repo,
        {"test_cart.py with assertions that are always true", "policy.weakened_tests is refuse"});
  }
}

TEST(VerificationPolicy, CorrectRenameTouchingTestsPassesUnflagged) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(SpecWith("  verification_changes: refuse\n  weakened_tests: refuse\n"));
  fx.WriteCassette("shop", Json::array({Call("edit", CorrectRename()),
                                        Call("finish", {{"summary", "Renamed."}})}));
  DroverRun run = fx.Run();
  const Json& job = OnlyJob(run);
  ASSERT_EQ(job.value("status", ""), "published") << run.output << job.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/shop/pr.md");
  EXPECT_EQ(pr.find(kSection), std::string::npos) << pr;
  EXPECT_TRUE(job["verification_changes"].empty()) << job.dump(2);
  EXPECT_TRUE(job["weakened_tests"].empty()) << job.dump(2);
  EXPECT_TRUE(BranchExists(repo));
}

}  // namespace
}  // namespace drover::e2e
