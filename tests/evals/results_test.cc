#include "evals/results.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "evals/harness.h"
#include "tests/testing/testing.h"

namespace drover::evals {
namespace {

RunResult Run(int attempt, const std::string& category, double wall = 1.5) {
  RunResult run;
  run.attempt = attempt;
  run.outcome = category == "success" || category == "checks_failed" ? "published" : "failed";
  run.category = category;
  run.reason = category == "success" ? "" : "why";
  run.input_tokens = 1000;
  run.cached_input_tokens = 200;
  run.output_tokens = 100;
  run.cost_usd = 0.01;
  run.turns = 3;
  run.wall_seconds = wall;
  return run;
}

// A failed job is scored by the runner's failure kind: each one is a category of the taxonomy.
TEST(Categories, HoldEveryFailureKindOfTheRunner) {
  for (fleet::FailureKind kind : fleet::kFailureKinds) {
    EXPECT_NE(
        std::find(std::begin(kCategories), std::end(kCategories), fleet::FailureKindName(kind)),
        std::end(kCategories))
        << fleet::FailureKindName(kind);
  }
}

TaskResult Task(const std::string& id, std::vector<std::string> categories, bool expect = true) {
  TaskResult task;
  task.id = id;
  task.language = "python";
  task.tags = {"rename"};
  task.expect_success = expect;
  int attempt = 1;
  for (const auto& category : categories) task.runs.push_back(Run(attempt++, category));
  return task;
}

SuiteResult Suite(std::vector<TaskResult> tasks, bool replayed = true) {
  SuiteResult suite;
  suite.suite = "evals";
  suite.model = replayed ? "replay" : "openai:gpt-4.1";
  suite.replayed = replayed;
  suite.attempts = static_cast<int>(tasks.empty() ? 1 : tasks.front().runs.size());
  suite.tasks = std::move(tasks);
  return suite;
}

TEST(ResultsTest, RatesLeaveInfrastructureOut) {
  auto task = Task("t", {"success", "infrastructure", "checks_failed", "success"});
  EXPECT_EQ(task.Successes(), 2);
  EXPECT_EQ(task.Infrastructure(), 1);
  EXPECT_EQ(task.Scored(), 3);
  EXPECT_NEAR(task.SuccessRate(), 2.0 / 3, 1e-12);
  EXPECT_FALSE(task.AsExpected());
  EXPECT_TRUE(Task("n", {"checks_failed"}, false).AsExpected());
  EXPECT_FALSE(Task("n", {"success"}, false).AsExpected());
}

TEST(ResultsTest, JsonHasTheFiguresAndReadsBack) {
  auto suite = Suite({Task("a", {"success", "success"}), Task("b", {"success", "edit_errors"}),
                      Task("neg", {"checks_failed", "checks_failed"}, false)});
  Json json = ToJson(suite);
  EXPECT_EQ(json["schema_version"], kResultsSchemaVersion);
  const Json& overall = json["overall"];
  EXPECT_EQ(overall["successes"], 3);
  EXPECT_EQ(overall["scored_runs"], 4);  // The negative control is not in the overall rate.
  EXPECT_DOUBLE_EQ(overall["success_rate"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(overall["pass_at_k"].get<double>(), 1.0);
  EXPECT_EQ(overall["categories"]["edit_errors"], 1);
  EXPECT_EQ(overall["negative_controls_scored_success"], 0);
  EXPECT_EQ(overall["totals"]["input_tokens"], 6000);
  EXPECT_DOUBLE_EQ(overall["totals"]["cost_usd"].get<double>(), 0.06);
  EXPECT_DOUBLE_EQ(json["tasks"][1]["success_rate"].get<double>(), 0.5);
  EXPECT_GT(json["tasks"][1]["wilson_low"].get<double>(), 0.0);
  EXPECT_LT(json["tasks"][1]["wilson_high"].get<double>(), 1.0);

  auto back = SuiteResultFromJson(json, "results.json");
  ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back).dump(), json.dump());
}

TEST(ResultsTest, UnknownCategoryIsAParseError) {
  Json json = ToJson(Suite({Task("a", {"success"})}));
  json["tasks"][0]["runs"][0]["category"] = "lucky";
  auto back = SuiteResultFromJson(json, "r.json");
  ASSERT_FALSE(back.has_value());
  EXPECT_NE(back.error().message.find("unknown category 'lucky'"), std::string::npos);
}

TEST(ResultsTest, MissingPriceMakesCostNull) {
  auto suite = Suite({Task("a", {"success"})});
  suite.tasks[0].runs[0].cost_usd.reset();
  EXPECT_TRUE(ToJson(suite)["overall"]["totals"]["cost_usd"].is_null());
}

TEST(ReportTest, ReplayHeaderIsNotAModelsSuccessRate) {
  std::string replayed = RenderMarkdown(Suite({Task("a", {"success"})}));
  EXPECT_NE(replayed.find("regression test of the pipeline and the tools"), std::string::npos);
  EXPECT_NE(replayed.find("not a model's success rate"), std::string::npos);
  std::string live = RenderMarkdown(Suite({Task("a", {"success"})}, false));
  EXPECT_EQ(live.find("regression test"), std::string::npos);
  EXPECT_NE(live.find("openai:gpt-4.1"), std::string::npos);
}

TEST(ReportTest, WallTimesDoNotChangeTheReport) {
  auto a = Suite({Task("a", {"success", "checks_failed"})});
  auto b = a;
  b.tasks[0].runs[0].wall_seconds = 99;
  EXPECT_EQ(RenderMarkdown(a), RenderMarkdown(b));
  EXPECT_EQ(RenderJunit(a), RenderJunit(b));
}

TEST(JunitTest, NegativeControlScoringSuccessIsAFailure) {
  auto suite = Suite({Task("good", {"success"}), Task("neg-ok", {"checks_failed"}, false),
                      Task("neg-bad", {"success"}, false), Task("weak", {"verifier_failed"})});
  std::string xml = RenderJunit(suite);
  EXPECT_NE(xml.find("tests=\"4\" failures=\"2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"neg-bad\">\n    <failure message=\"negative control scored a "
                     "success in 1 run(s)\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"good\"></testcase>"), std::string::npos);
  EXPECT_NE(xml.find("name=\"neg-ok\"></testcase>"), std::string::npos);
  EXPECT_NE(xml.find("run 1: verifier_failed: why"), std::string::npos);
}

TEST(CompareTest, ListsChangesAndTestsThemPaired) {
  std::vector<TaskResult> before, after;
  for (int i = 0; i < 8; ++i) {
    before.push_back(Task("t" + std::to_string(i), {"success"}));
    after.push_back(Task("t" + std::to_string(i), {i < 7 ? "checks_failed" : "success"}));
  }
  auto comparison = Compare(Suite(before), Suite(after));
  EXPECT_EQ(comparison.paired, 8);
  EXPECT_EQ(comparison.worse, 7);
  EXPECT_EQ(comparison.better, 0);
  EXPECT_EQ(comparison.changed.size(), 7u);
  EXPECT_NEAR(comparison.p_value, 2.0 / 128, 1e-12);
  EXPECT_TRUE(comparison.significant());
  std::string text = RenderComparison(comparison, "A.json", "B.json");
  EXPECT_NE(text.find("t0: 100% -> 0%"), std::string::npos) << text;
  EXPECT_NE(text.find("significant at 0.05: B is worse"), std::string::npos) << text;

  auto small = Compare(Suite({Task("a", {"success"}), Task("b", {"success"})}),
                       Suite({Task("a", {"checks_failed"}), Task("c", {"success"})}));
  EXPECT_EQ(small.paired, 1);
  EXPECT_EQ(small.changed.size(), 3u);  // a fell; b and c are on one side only.
  EXPECT_FALSE(small.significant());
  EXPECT_NE(RenderComparison(small, "A", "B").find("not significant"), std::string::npos);
}

TEST(CompareTest, WallTimesAndTokensPlayNoPart) {
  auto a = Suite({Task("a", {"success"})});
  auto b = a;
  b.tasks[0].runs[0].wall_seconds = 1000;
  b.tasks[0].runs[0].input_tokens = 5;
  EXPECT_TRUE(Compare(a, b).changed.empty());
  EXPECT_TRUE(BaselineRegressions(a, b).empty());
}

TEST(BaselineTest, DropsMissingTasksAndNegativeSuccessesFail) {
  auto baseline = Suite({Task("a", {"success", "success"}), Task("b", {"success", "success"}),
                         Task("gone", {"success", "success"})});
  auto current = Suite({Task("a", {"success", "success"}), Task("b", {"success", "checks_failed"}),
                        Task("neg", {"success", "checks_failed"}, false)});
  auto problems = BaselineRegressions(baseline, current);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "b: success rate dropped from 100% to 50%");
  EXPECT_EQ(problems[1], "gone: in the baseline but did not run");
  EXPECT_EQ(problems[2], "neg: negative control scored a success");
  // Better than the baseline is no regression.
  EXPECT_TRUE(
      BaselineRegressions(Suite({Task("a", {"checks_failed"})}), Suite({Task("a", {"success"})}))
          .empty());
}

TEST(TestEvidenceTest, CountsRunAndSkippedTests) {
  auto unittest = InspectTestOutput("..s\n------\nRan 3 tests in 0.001s\n\nOK (skipped=1)\n");
  EXPECT_EQ(unittest.ran, 3);
  EXPECT_EQ(unittest.skipped, 1);
  auto none = InspectTestOutput("\n------\nRan 0 tests in 0.000s\n\nNO TESTS RAN\n");
  EXPECT_EQ(none.ran, 0);
  auto pytest = InspectTestOutput("===== 4 passed, 2 skipped in 0.12s =====\n");
  EXPECT_EQ(pytest.ran, 4);
  EXPECT_EQ(pytest.skipped, 2);
  auto jest = InspectTestOutput("Tests:       1 skipped, 5 passed, 6 total\n");
  EXPECT_EQ(jest.ran, 6);
  EXPECT_EQ(jest.skipped, 1);
  auto ctest = InspectTestOutput("100% tests passed, 0 tests failed out of 7\n");
  EXPECT_EQ(ctest.ran, 7);
  auto go_empty = InspectTestOutput("?   \texample.com/x\t[no test files]\n");
  EXPECT_EQ(go_empty.ran, 0);
  auto go = InspectTestOutput("ok  \texample.com/x\t0.01s\n?   \texample.com/y\t[no test files]\n");
  EXPECT_FALSE(go.ran.has_value());
  EXPECT_FALSE(InspectTestOutput("all good\n").ran.has_value());
  // Garbage does not throw: an out-of-range count reads as nothing.
  EXPECT_EQ(InspectTestOutput("Ran 99999999999999999999 tests in 0.1s\n").ran, 0);
}

TEST(OverrideLimitsTest, SetsLimitsInTheFrontMatter) {
  std::string spec = "---\nid: m\ntitle: T\nlimits:\n  max_tokens: 1000\n---\nBody line.\n";
  auto changed = OverrideLimits(spec, "m.md", 7, 1);
  ASSERT_OK(changed);
  EXPECT_NE(changed->find("max_turns: 7"), std::string::npos) << *changed;
  EXPECT_NE(changed->find("max_attempts: 1"), std::string::npos);
  EXPECT_NE(changed->find("max_tokens: 1000"), std::string::npos);
  EXPECT_TRUE(changed->ends_with("---\nBody line.\n")) << *changed;
  auto same = OverrideLimits(spec, "m.md", std::nullopt, std::nullopt);
  ASSERT_OK(same);
  EXPECT_EQ(*same, spec);
  auto bad = OverrideLimits("no front matter\n", "m.md", 3, std::nullopt);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("m.md"), std::string::npos);
  auto scalar = OverrideLimits("---\nid: m\nlimits: 5\n---\nBody\n", "m.md", 3, std::nullopt);
  ASSERT_FALSE(scalar.has_value());
  EXPECT_EQ(scalar.error().message, "m.md:3: limits: expected a mapping, got \"5\"");
}

}  // namespace
}  // namespace drover::evals
