// End-to-end: with verifiers left to detection, the commands the repository's CI runs are the
// checks. A Makefile whose `test` runs a demo does not hide the project's CTest suite, and a
// Makefile whose default target installs from the network does not get a Python project
// skipped whose CI runs its unit tests.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

std::string DetectedSpec() {
  return "---\nid: detect\ntitle: Detected checks\nverifiers: auto\nlimits:\n  max_attempts: 1\n"
         "---\nDo what the cassette says.\n";
}

bool BranchExists(const std::filesystem::path& repo) {
  return !Sh("git -C '" + repo.string() + "' branch --list 'drover/*'").empty();
}

// `make test` prints add(2, 2), which multiplication gets right too; the CTest suite checks
// add(2, 3).
std::map<std::string, std::string> CalcFiles() {
  return {{"Makefile",
           "all: demo\ndemo: demo.c calc.c\n\tcc -o demo demo.c calc.c\n"
           "test: demo\n\t./demo\n"},
          {"calc.h", "int add(int a, int b);\n"},
          {"calc.c", "#include \"calc.h\"\nint add(int a, int b) { return a + b; }\n"},
          {"demo.c",
           "#include <stdio.h>\n#include \"calc.h\"\n"
           "int main(void) { printf(\"2+2=%d\\n\", add(2, 2)); return 0; }\n"},
          {"unit.c", "#include \"calc.h\"\nint main(void) { return add(2, 3) == 5 ? 0 : 1; }\n"},
          {"CMakeLists.txt",
           "cmake_minimum_required(VERSION 3.13)\nproject(calc C)\n"
           "enable_testing()\nadd_executable(unit unit.c calc.c)\n"
           "add_test(NAME unit COMMAND unit)\n"},
          {".github/workflows/ci.yml",
           "name: ci\n"
           "on: [push, pull_request]\n"
           "jobs:\n"
           "  unit:\n"
           "    runs-on: ubuntu-latest\n"
           "    steps:\n"
           "      - uses: actions/checkout@v4\n"
           "      - run: sudo apt-get install -y cmake\n"
           "      - run: cmake -S . -B build\n"
           "      - run: cmake --build build\n"
           "      - working-directory: build\n"
           "        run: ctest --output-on-failure\n"},
          {".gitignore", "build/\ndemo\n"}};
}

TEST(DetectCi, CtestFromCiRefusesABreakingChangeThatTheMakeDemoPasses) {
  Fixture fx;
  auto repo = fx.AddRepo("calc", CalcFiles());
  fx.WriteSpec(DetectedSpec());
  // The agent's own verify runs the same checks and refuses its finish, as often as it asks.
  Json finish = Call("finish", {{"summary", "Simplified add."}});
  fx.WriteCassette("calc", Json::array({Call("edit", {{"path", "calc.c"},
                                                      {"search", "return a + b;"},
                                                      {"replace", "return a * b;"}}),
                                        finish, finish, finish, finish}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  // The baseline ran the CTest suite, and says where the check came from.
  EXPECT_NE(job.value("baseline", "").find("test: passed ("), std::string::npos) << job.dump(2);
  EXPECT_NE(job.value("baseline", "").find(", 1 test)"), std::string::npos) << job.dump(2);
  EXPECT_NE(job.value("checks", "").find("test: from .github/workflows/ci.yml line 12 (job unit)"),
            std::string::npos)
      << job.dump(2);
  std::string transcript = ReadTestFile(run.run_dir / "jobs/calc/attempt-1/transcript.jsonl");
  EXPECT_NE(transcript.find("finish refused: the checks failed (build: passed; test: FAILED"),
            std::string::npos)
      << transcript;
  std::string summary = ReadTestFile(run.run_dir / "summary.md");
  EXPECT_NE(summary.find("## Checks chosen by detection"), std::string::npos) << summary;
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/calc/pr.md"));
  EXPECT_FALSE(BranchExists(repo));
}

// The Makefile's default target installs linters from the network (none here); the CI
// workflow runs the unit tests, which the correct change keeps passing.
std::map<std::string, std::string> ShopFiles() {
  return {
      {"Makefile",
       "all: all-checks\nall-checks: install lint test\n"
       "install:\n\tpip install --retries 0 --timeout 2 ruff sphinx\n"
       "lint:\n\truff check .\ntest:\n\tpython3 -m unittest discover -s tests\n"},
      {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
      {"cart.py",
       "from pricing import compute_total\n\n\ndef cart_value(items):\n"
       "    return compute_total(items)\n"},
      {"tests/test_cart.py",
       "import unittest\n\nfrom cart import cart_value\n\n\nclass CartTest(unittest.TestCase):\n"
       "    def test_value(self):\n        self.assertEqual(cart_value([1, 2]), 3)\n\n"
       "    def test_empty(self):\n        self.assertEqual(cart_value([]), 0)\n"},
      {".github/workflows/tests.yml",
       "on: push\njobs:\n  tests:\n    runs-on: ubuntu-latest\n    steps:\n"
       "      - uses: actions/checkout@v4\n"
       "      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.11'\n"
       "      - run: python -m pip install -e .\n"
       "      - run: python -m unittest discover -s tests -v\n"},
      {".gitignore", "__pycache__/\n"}};
}

TEST(DetectCi, UnittestFromCiPassesACorrectChangeTheMakeDefaultTargetWouldSkip) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(DetectedSpec());
  fx.WriteCassette("shop",
                   Json::array({Call("edit", {{"path", "pricing.py"},
                                              {"search", "def compute_total(items):"},
                                              {"replace", "def compute_sum(items):"}}),
                                Call("edit", {{"path", "cart.py"},
                                              {"search", "from pricing import compute_total"},
                                              {"replace", "from pricing import compute_sum"}}),
                                Call("edit", {{"path", "cart.py"},
                                              {"search", "return compute_total(items)"},
                                              {"replace", "return compute_sum(items)"}}),
                                Call("finish", {{"summary", "Renamed."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  EXPECT_NE(job.value("verifier", "").find(", 2 tests)"), std::string::npos) << job.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/shop/pr.md");
  EXPECT_NE(pr.find("| test | `(python -m unittest discover -s tests -v)` |"), std::string::npos)
      << pr;
  EXPECT_NE(pr.find("test was chosen by detection: from .github/workflows/tests.yml line 11 (job "
                    "tests)"),
            std::string::npos)
      << pr;
  EXPECT_EQ(pr.find("make -s"), std::string::npos) << pr;  // No build from the Makefile.
  EXPECT_TRUE(BranchExists(repo));
}

// A detected test check that shows no test is said to be no test check.
TEST(DetectCi, ADetectedTestCheckThatRanNoTestsIsNamed) {
  Fixture fx;
  fx.AddRepo("plain", {{"Makefile", "test:\n\t@grep -q v version.txt\n"}, {"version.txt", "v1\n"}});
  fx.WriteSpec(DetectedSpec());
  fx.WriteCassette("plain",
                   Json::array({Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
                                Call("finish", {{"summary", "Bumped."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  EXPECT_NE(job.value("checks", "").find("test: ran no tests on the untouched tree"),
            std::string::npos)
      << job.dump(2);
  std::string pr = ReadTestFile(run.run_dir / "jobs/plain/pr.md");
  EXPECT_NE(pr.find("it is not counted as a test check"), std::string::npos) << pr;
}

}  // namespace
}  // namespace drover::e2e
