// End-to-end: the dependency set-up runs in the sandbox before the baseline and again before
// the final check, installs into the job's deps directory that every later check and the
// agent see read-only, and a set-up that fails skips the repository naming the first error
// line. The package comes from a local wheel directory: nothing reaches the internet.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

// A wheel of `helperlib` 1.0 (one module, `double(x)`), built by hand: a wheel is a zip.
std::filesystem::path BuildWheel(const std::filesystem::path& dir) {
  WriteTestFile(dir, "make_wheel.py",
                "import zipfile\n"
                "files = {\n"
                "  'helperlib/__init__.py': 'def double(x):\\n    return 2 * x\\n',\n"
                "  'helperlib-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: "
                "helperlib\\nVersion: 1.0\\n',\n"
                "  'helperlib-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: "
                "test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',\n"
                "}\n"
                "record = ''.join(name + ',,\\n' for name in files) + "
                "'helperlib-1.0.dist-info/RECORD,,\\n'\n"
                "with zipfile.ZipFile('wheels/helperlib-1.0-py3-none-any.whl', 'w') as z:\n"
                "    for name, text in files.items():\n"
                "        z.writestr(name, text)\n"
                "    z.writestr('helperlib-1.0.dist-info/RECORD', record)\n");
  std::filesystem::create_directories(dir / "wheels");
  Sh("cd '" + dir.string() + "' && python3 make_wheel.py");
  return dir / "wheels";
}

// The tests import the test-only dependency.
std::map<std::string, std::string> CalcFiles() {
  return {{"calc.py", "def triple(x):\n    return 3 * x\n"},
          {"pyproject.toml",
           "[project]\nname = \"calc\"\nversion = \"1\"\n"
           "[project.optional-dependencies]\ntest = [\"helperlib\"]\n"},
          {"tests/test_calc.py",
           "import unittest\n\nimport helperlib\n\nfrom calc import triple\n\n\n"
           "class CalcTest(unittest.TestCase):\n"
           "    def test_triple(self):\n"
           "        self.assertEqual(triple(2), helperlib.double(3))\n"},
          {".gitignore", "__pycache__/\n"}};
}

std::string SetupSpec(const std::string& setup, const std::filesystem::path& wheels) {
  std::string quoted = "'";  // A YAML single-quoted scalar.
  for (char c : setup) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  quoted += "'";
  return "---\nid: setup\ntitle: Set-up\nlimits:\n  max_attempts: 1\n"
         "verifiers:\n  - name: test\n    command: python3 -m unittest discover -v -s tests\n"
         "setup:\n  - " +
         quoted + "\nsandbox:\n  read_only_paths: [" + wheels.string() +
         "]\n---\nRename triple's argument.\n";
}

TEST(Setup, TestExtrasInstalledFromAWheelDirectoryLetACorrectChangePass) {
  Fixture fx;
  TempDir index;
  auto wheels = BuildWheel(index.path());
  auto repo = fx.AddRepo("calc", CalcFiles());
  fx.WriteSpec(
      SetupSpec("\"$(python3 -c 'import sys; print(sys.executable)')\" -m pip install "
                "--disable-pip-version-check --no-index "
                "--find-links " +
                    wheels.string() + " --target \"$DROVER_DEPS/python\" helperlib",
                wheels));
  fx.WriteCassette("calc",
                   Json::array({Call("edit", {{"path", "calc.py"},
                                              {"search", "def triple(x):\n    return 3 * x"},
                                              {"replace", "def triple(n):\n    return 3 * n"}}),
                                Call("finish", {{"summary", "Renamed."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  EXPECT_NE(job.value("baseline", "").find("test: passed ("), std::string::npos) << job.dump(2);
  EXPECT_NE(job.value("verifier", "").find("1 test)"), std::string::npos) << job.dump(2);
  // Installed once into the job's deps directory, outside the workspace and the commit.
  std::string gates = ReadTestFile(run.run_dir / "jobs/calc/gate.jsonl");
  EXPECT_NE(gates.find("\"setup\""), std::string::npos) << gates;
  std::string patch = ReadTestFile(run.run_dir / "jobs/calc/pr.patch");
  EXPECT_EQ(patch.find("helperlib"), std::string::npos) << patch;
  EXPECT_FALSE(Sh("git -C '" + repo.string() + "' branch --list 'drover/*'").empty());
}

TEST(Setup, AFailingSetupSkipsTheRepositoryNamingTheFirstErrorLine) {
  Fixture fx;
  TempDir index;
  auto wheels = BuildWheel(index.path());
  fx.AddRepo("calc", CalcFiles());
  fx.WriteSpec(
      SetupSpec("\"$(python3 -c 'import sys; print(sys.executable)')\" -m pip install "
                "--disable-pip-version-check --no-index "
                "--find-links " +
                    wheels.string() + " --target \"$DROVER_DEPS/python\" no-such-package",
                wheels));
  fx.WriteCassette("calc", Json::array());
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "skipped") << job.dump(2);
  std::string reason = job.value("reason", "");
  EXPECT_TRUE(reason.starts_with("setup failed: `")) << reason;
  EXPECT_NE(reason.find("-m pip install"), std::string::npos) << reason;
  EXPECT_NE(reason.find("ERROR: Could not find a version that satisfies the requirement "
                        "no-such-package"),
            std::string::npos)
      << reason;
}

// `setup: []` turns the detected set-up (pyproject.toml's test extras) off: the test-only
// dependency is then missing, and the skip reason says so.
TEST(Setup, AnEmptySetupListRunsNone) {
  Fixture fx;
  fx.AddRepo("calc", CalcFiles());
  fx.WriteSpec(
      "---\nid: setup\ntitle: Set-up\nlimits:\n  max_attempts: 1\n"
      "verifiers:\n  - name: test\n    command: python3 -m unittest discover -v -s tests\n"
      "setup: []\n---\nRename triple's argument.\n");
  fx.WriteCassette("calc", Json::array());
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "skipped") << job.dump(2);
  EXPECT_NE(job.value("reason", "").find("baseline red"), std::string::npos) << job.dump(2);
  std::string gates = ReadTestFile(run.run_dir / "jobs/calc/gate.jsonl");
  EXPECT_EQ(gates.find("\"setup\""), std::string::npos) << gates;
  EXPECT_NE(ReadTestFile(run.run_dir / "jobs/calc/logs/baseline-test.log")
                .find("No module named 'helperlib'"),
            std::string::npos);
}

// A set-up that installs into the tree (as `npm ci` fills node_modules) is run again on the
// fresh checkout the agent gets after the baseline: the agent's own checks find the tool too.
TEST(Setup, WhatTheSetupInstallsIntoTheTreeIsThereForTheAgentsChecks) {
  Fixture fx;
  auto repo = fx.AddRepo(
      "tooled", {{"Makefile", "test:\n\tnode_modules/.bin/tool && grep -q compute_ pricing.c\n"},
                 {"pricing.c", "int compute_total(int a, int b) { return a + b; }\n"},
                 {".gitignore", "node_modules/\n"}});
  fx.WriteSpec(
      "---\nid: setup\ntitle: Set-up\nlimits:\n  max_attempts: 1\n"
      "verifiers:\n  - name: test\n    command: make -s test\n"
      "setup:\n  - 'mkdir -p node_modules/.bin && printf \"#!/bin/sh\\necho tool ran\\n\" > "
      "node_modules/.bin/tool && chmod +x node_modules/.bin/tool'\n"
      "---\nRename compute_total to compute_sum.\n");
  fx.WriteCassette(
      "tooled",
      Json::array(
          {Call("edit",
                {{"path", "pricing.c"}, {"search", "compute_total"}, {"replace", "compute_sum"}}),
           Call("verify", Json::object()),
           Call("finish", {{"summary", "Renamed compute_total."}}, "", {"passed"})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2) << run.output;
  auto events = ReadJsonl(run.run_dir / "jobs" / "tooled" / "attempt-1" / "transcript.jsonl");
  int verifies = 0;
  for (const auto& event : events) {
    if (event.value("type", "") != "tool_result" || event.value("name", "") != "verify") continue;
    ++verifies;
    std::string text = event.value("text", "");
    EXPECT_EQ(text.find("FAILED"), std::string::npos) << text;
  }
  EXPECT_EQ(verifies, 1) << run.output;
  std::string patch = ReadTestFile(run.run_dir / "jobs" / "tooled" / "pr.patch");
  EXPECT_NE(patch.find("+int compute_sum"), std::string::npos) << patch;
  EXPECT_EQ(patch.find("node_modules"), std::string::npos) << patch;
  EXPECT_FALSE(Sh("git -C '" + repo.string() + "' branch --list 'drover/*'").empty());
}

}  // namespace
}  // namespace drover::e2e
