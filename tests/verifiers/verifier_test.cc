#include "verifiers/verifier.h"

#include "tests/testing/testing.h"

namespace drover::verifiers {
namespace {

using drover::testing::TempDir;

std::map<std::string, std::string> Env() { return {{"PATH", "/usr/bin:/bin"}}; }

TEST(RunVerifiers, ReportsEachVerifierAndRunsAllOfThem) {
  TempDir dir;
  drover::testing::WriteTestFile(dir.path(), "ok.txt", "x");
  auto runner = sandbox::MakeLocalProcessRunner();
  std::vector<VerifierSpec> specs = {
      {"build", "test -f ok.txt", std::chrono::seconds(10)},
      {"test", "echo 'test_parse: AssertionError: 1 != 2' >&2; exit 1", std::chrono::seconds(10)},
      {"lint", "true", std::chrono::seconds(10)}};
  VerifierReport report = RunVerifiers(*runner, specs, dir.path(), Env());
  ASSERT_EQ(report.results.size(), 3u);
  EXPECT_TRUE(report.results[0].passed);
  EXPECT_FALSE(report.results[1].passed);
  EXPECT_TRUE(report.results[2].passed);
  EXPECT_FALSE(report.passed());
  EXPECT_NE(report.Summary().find("test: FAILED exit 1"), std::string::npos) << report.Summary();
  std::string for_model = report.ForModel();
  EXPECT_NE(for_model.find("AssertionError: 1 != 2"), std::string::npos);
  EXPECT_EQ(report.ToJson()["passed"], false);
}

TEST(RunVerifiers, ShortFailingOutputIsHandedOverWhole) {
  TempDir dir;
  auto runner = sandbox::MakeLocalProcessRunner();
  VerifierReport report = RunVerifiers(
      *runner, {{"build", "echo './x.go:3:5: undefined: y' >&2; exit 2", std::chrono::seconds(10)}},
      dir.path(), Env());
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].distilled, "./x.go:3:5: undefined: y\n");
}

TEST(RunVerifiers, TimeoutIsAFailure) {
  TempDir dir;
  auto runner = sandbox::MakeLocalProcessRunner();
  VerifierReport report =
      RunVerifiers(*runner, {{"slow", "sleep 5", std::chrono::seconds(1)}}, dir.path(), Env());
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_FALSE(report.passed());
  EXPECT_NE(report.results[0].outcome.find("timed out"), std::string::npos);
}

TEST(RewriteHostPaths, WorkspacePathsBecomeRelativeAndOthersTheirLabel) {
  std::vector<PathAlias> aliases = {{"/srv/state", "<state>"},
                                    {"/srv/state/runs/r/jobs/a/workspace", ""}};
  EXPECT_EQ(RewriteHostPaths("/srv/state/runs/r/jobs/a/workspace/src/a.c:3:1: error: x\n"
                             "In file included from /srv/state/runs/r/jobs/a/workspace/b.h:1,\n"
                             "cd '/srv/state/runs/r/jobs/a/workspace' && make\n"
                             "HOME=/srv/state/runs/r/jobs/a/home; cache /srv/state.\n",
                             aliases),
            "src/a.c:3:1: error: x\n"
            "In file included from b.h:1,\n"
            "cd '.' && make\n"
            "HOME=<state>/runs/r/jobs/a/home; cache <state>.\n");
  // Whole components only, and not inside another path.
  EXPECT_EQ(RewriteHostPaths("/srv/state2/x /srv/states /opt/srv/state/x /srv/state.d/y",
                             aliases),
            "/srv/state2/x /srv/states /opt/srv/state/x /srv/state.d/y");
  EXPECT_EQ(RewriteHostPaths("no paths here", {}), "no paths here");
}

// The workspace's absolute path, as the sandbox and the host both see it, never reaches the
// report: the diagnostics, the distilled text and the output name repository-relative files.
TEST(RunVerifiers, ReportsNameRepositoryRelativePaths) {
  TempDir dir;
  TempDir state;
  drover::testing::WriteTestFile(dir.path(), "src/a.c", "int x = y;\n");
  auto runner = sandbox::MakeLocalProcessRunner();
  std::string command = "echo \"$PWD/src/a.c:1:9: error: 'y' undeclared\" >&2; "
                        "echo \"see " + state.path().string() + "/cache/log\"; exit 1";
  VerifierReport report =
      RunVerifiers(*runner, {{"build", command, std::chrono::seconds(10)}}, dir.path(), Env(),
                   std::nullopt, "", {{state.path(), "<state>"}});
  ASSERT_EQ(report.results.size(), 1u);
  const auto& r = report.results[0];
  // (The command is the spec's own text, shown as written.)
  std::string all = report.ToJson()["results"][0]["diagnostics"].dump() + r.distilled + r.output;
  EXPECT_EQ(all.find(dir.path().string()), std::string::npos) << all;
  EXPECT_EQ(all.find(state.path().string()), std::string::npos) << all;
  ASSERT_FALSE(r.diagnostics.empty()) << r.distilled;
  EXPECT_EQ(r.diagnostics[0].file, "src/a.c");
  EXPECT_NE(r.output.find("see <state>/cache/log"), std::string::npos) << r.output;
}

// The cause of a failure in one line: not make's or npm's echo of the exit status.
TEST(FirstErrorLine, PicksTheCauseAndSkipsBuildToolEchoes) {
  EXPECT_EQ(FirstErrorLine("> pkg@1.0.0 test\n> tsd && node test.js\n\nsh: 1: tsd: not found\n"
                           "npm ERR! code ELIFECYCLE\nnpm ERR! errno 127\n",
                           {}),
            "sh: 1: tsd: not found");
  EXPECT_EQ(FirstErrorLine("python3 -m pytest\n/usr/bin/python3: No module named pytest\n"
                           "make: *** [Makefile:4: test] Error 1\n",
                           {}),
            "/usr/bin/python3: No module named pytest");
  EXPECT_EQ(FirstErrorLine("Traceback (most recent call last):\n  File \"t.py\", line 1, in "
                           "<module>\n    import pytest\nModuleNotFoundError: No module named "
                           "'pytest'\n",
                           {}),
            "ModuleNotFoundError: No module named 'pytest'");
  EXPECT_EQ(FirstErrorLine("make[1]: *** [sub.mk:3: all] Error 2\nmake: *** [Makefile:2: test] "
                           "Error 2\n",
                           {}),
            "make[1]: *** [sub.mk:3: all] Error 2");  // Only echoes: the first of them.
  EXPECT_EQ(FirstErrorLine("make: *** No rule to make target 'test'.  Stop.\n", {}),
            "make: *** No rule to make target 'test'.  Stop.");
  EXPECT_EQ(FirstErrorLine("ok 1\nsomething odd happened\n\n", {}), "something odd happened");
  EXPECT_EQ(FirstErrorLine("", {}), "");
  Diagnostic warning{DiagnosticKind::kCompileWarning, "a.c", 1, 1, "unused", ""};
  Diagnostic error{DiagnosticKind::kCompileError, "src/a.c", 3, 5, "'y' undeclared", ""};
  EXPECT_EQ(FirstErrorLine("whatever", {warning, error}), "src/a.c:3: 'y' undeclared");
  EXPECT_EQ(FirstErrorLine(std::string(500, 'e') + "rror\n", {}).size(), 203u);
}

TEST(RunVerifiers, SummaryCarriesTheFirstErrorLine) {
  TempDir dir;
  auto runner = sandbox::MakeLocalProcessRunner();
  VerifierReport report = RunVerifiers(
      *runner, {{"test", "echo running; tsd-not-installed; exit 127", std::chrono::seconds(10)}},
      dir.path(), Env());
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_NE(report.Summary(false).find("test: FAILED exit 127: "), std::string::npos)
      << report.Summary(false);
  EXPECT_NE(report.results[0].first_error.find("tsd-not-installed: not found"), std::string::npos)
      << report.results[0].first_error;
  auto back = VerifierReportFromJson(report.ToJson());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->Summary(false), report.Summary(false));
}

TEST(RunVerifiers, EmptyListDoesNotPass) {
  TempDir dir;
  auto runner = sandbox::MakeLocalProcessRunner();
  EXPECT_FALSE(RunVerifiers(*runner, {}, dir.path(), Env()).passed());
}

// Surefire says little on the console; the failures come from the report it just wrote,
// and a report older than the run is not read. The whole output is kept in the log dir.
TEST(RunVerifiers, ReadsFreshJunitReportsAndKeepsTheWholeLog) {
  TempDir dir;
  auto workspace = dir.path() / "ws";
  std::string xml = drover::testing::ReadTestFile(
      std::filesystem::path(DROVER_TEST_FIXTURES) / "logs/junit_xml/surefire_failures/output.txt");
  drover::testing::WriteTestFile(dir.path(), "report.xml", xml);
  drover::testing::WriteTestFile(workspace, "target/surefire-reports/TEST-Old.xml", xml);
  std::filesystem::last_write_time(workspace / "target/surefire-reports/TEST-Old.xml",
                                   std::filesystem::file_time_type::clock::now() -
                                       std::chrono::hours(1));
  auto runner = sandbox::MakeLocalProcessRunner();
  std::vector<VerifierSpec> specs = {
      {"test", "cp ../report.xml target/surefire-reports/TEST-New.xml; echo BUILD FAILURE; exit 1",
       std::chrono::seconds(30)}};
  auto report = RunVerifiers(*runner, specs, workspace, {{"PATH", "/usr/bin:/bin"}},
                             dir.path() / "logs", "final-1-");
  ASSERT_EQ(report.results.size(), 1u);
  const auto& result = report.results[0];
  EXPECT_FALSE(result.passed);
  ASSERT_FALSE(result.diagnostics.empty()) << result.distilled;
  // Only the fresh report counts: the old one holds the same failures and would double them.
  auto from_fixture = ParseJunitReports({xml});
  EXPECT_EQ(result.diagnostics.size(), from_fixture.size());
  EXPECT_NE(result.distilled.find("JUnit reports"), std::string::npos) << result.distilled;
  EXPECT_EQ(drover::testing::ReadTestFile(dir.path() / "logs/final-1-test.log"), "BUILD FAILURE\n");
}

TEST(Distill, KeepsErrorLinesAndTailWithinBudget) {
  std::string log;
  for (int i = 0; i < 5000; ++i) log += "compiling unit " + std::to_string(i) + "\n";
  log += "src/reader.cc:42:7: error: 'user_id' was not declared in this scope\n";
  for (int i = 0; i < 5000; ++i) log += "noise line " + std::to_string(i) + "\n";
  log += "make: *** [Makefile:3: all] Error 1\n";
  std::string distilled = Distill(log, 2000);
  EXPECT_LE(distilled.size(), 2000u);
  EXPECT_NE(distilled.find("src/reader.cc:42:7: error: 'user_id'"), std::string::npos);
  EXPECT_NE(distilled.find("make: *** [Makefile:3: all] Error 1"), std::string::npos);
  EXPECT_GT(log.size() / distilled.size(), 20u);
}

TEST(Distill, ShortOutputIsKeptWhole) {
  EXPECT_EQ(Distill("a\nb\n", 100), "a\nb\n");
}

TEST(VerifierSpecJson, RoundTripsAndNamesMissingFields) {
  VerifierSpec spec{"test", "make test", std::chrono::seconds(42)};
  auto back = VerifierSpecFromJson(ToJson(spec));
  ASSERT_OK(back);
  EXPECT_EQ(back->command, "make test");
  EXPECT_EQ(back->timeout.count(), 42);
  auto bad = VerifierSpecFromJson(Json{{"name", "x"}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("command"), std::string::npos);
}

}  // namespace
}  // namespace drover::verifiers
