#include "fleet/report.h"

#include <gtest/gtest.h>

#include "fleet/runner.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::TempDir;

StoreTime At(int64_t seconds) {
  return StoreTime(std::chrono::seconds(seconds));
}

JobRecord Job(std::string repository, JobState state, std::string step, int attempts,
              std::string reason = "") {
  JobRecord job;
  job.repository = std::move(repository);
  job.state = state;
  job.step = std::move(step);
  job.reason = std::move(reason);
  JobReport details;
  details.repository = job.repository;
  if (auto known = JobStepFromName(job.step)) details.step = *known;
  details.attempts = attempts;
  details.input_tokens = 100;
  details.output_tokens = 10;
  details.status = state == JobState::kPublished ? JobStatus::kPublished
                   : state == JobState::kSkipped ? JobStatus::kSkipped
                                                 : JobStatus::kFailed;
  job.details_json = details.ToJson().dump();
  return job;
}

PullRequestRecord Pr(int64_t job_id, PrState state) {
  PullRequestRecord pr;
  pr.job_id = job_id;
  pr.state = state;
  return pr;
}

TEST(Report, FunnelCountsEachStageOfTargeted) {
  std::vector<JobRecord> jobs = {
      Job("a", JobState::kPublished, "published", 1),
      Job("b", JobState::kPublished, "published", 2),
      Job("c", JobState::kFailed, "publishing", 1, "publish: refused"),  // Verified, not opened.
      Job("d", JobState::kFailed, "verifying", 2, "final check failed: 1 failed"),
      Job("e", JobState::kSkipped, "baseline", 0, "baseline red"),
      Job("f", JobState::kPending, "", 0),
  };
  auto funnel = ComputeFunnel(jobs, {Pr(1, PrState::kMerged), Pr(2, PrState::kOpen)});
  ASSERT_EQ(funnel.size(), 5u);
  EXPECT_EQ(funnel[0].name, "targeted");
  EXPECT_EQ(funnel[0].count, 6);
  EXPECT_DOUBLE_EQ(funnel[0].percent, 100.0);
  EXPECT_EQ(funnel[1].count, 4);  // a, b, c, d ran an agent.
  EXPECT_EQ(funnel[2].count, 3);  // a, b, c passed the final check.
  EXPECT_EQ(funnel[3].name, "pr_opened");
  EXPECT_EQ(funnel[3].count, 2);
  EXPECT_EQ(funnel[4].count, 1);
  EXPECT_DOUBLE_EQ(funnel[4].percent, 100.0 / 6);
  EXPECT_EQ(ComputeFunnel({}, {})[1].percent, 0);
}

TEST(Report, BurndownFollowsTransitionsInTimeOrder) {
  std::vector<PullRequestTransition> transitions = {
      {1, "a", PrState::kOpen, At(100)},   {2, "b", PrState::kOpen, At(100)},
      {3, "c", PrState::kOpen, At(150)},   {1, "a", PrState::kMerged, At(300)},
      {2, "b", PrState::kClosed, At(200)}, {3, "c", PrState::kMerged, At(300)}};
  auto points = ComputeBurndown(transitions);
  ASSERT_EQ(points.size(), 4u);  // 100, 150, 200, 300: same-time transitions are one point.
  EXPECT_EQ(points[0].at, At(100));
  EXPECT_EQ(points[0].open, 2);
  EXPECT_EQ(points[1].open, 3);
  EXPECT_EQ(points[2].open, 2);
  EXPECT_EQ(points[2].closed, 1);
  EXPECT_EQ(points[3].open, 0);
  EXPECT_EQ(points[3].merged, 2);
}

TEST(Report, BuildsFromTheStoreAndGroupsReasons) {
  TempDir dir;
  auto store = OpenSqliteStateStore(dir / "state.db");
  ASSERT_OK(store);
  auto& s = **store;
  ASSERT_OK(s.CreateRun("r1", "mig", "h", At(1000)));
  auto add = [&](const std::string& name, JobState state, const std::string& reason) {
    auto id = s.UpsertJob("r1", name, "/repos/" + name);
    EXPECT_TRUE(id.has_value());
    JobRecord job = Job(name, state, state == JobState::kPublished ? "published" : "verifying", 1);
    EXPECT_OK(s.AdvanceJob(*id, job.step, state, reason, job.details_json, At(1010)));
    return *id;
  };
  int64_t a = add("a", JobState::kPublished, "");
  add("b", JobState::kFailed, "final check failed: 2 failed");
  add("c", JobState::kFailed, "final check failed: 1 failed");
  add("d", JobState::kFailed, "clone failed: not found");
  PullRequestRecord pr = Pr(a, PrState::kOpen);
  pr.forge = "local";
  pr.url = "/x/pr.md";
  pr.updated_at = At(1020);
  ASSERT_OK(s.RecordPullRequest(pr));
  pr.state = PrState::kMerged;
  pr.updated_at = At(1080);
  ASSERT_OK(s.RecordPullRequest(pr));

  auto summary = BuildRunSummary(s, "r1", At(2000));
  ASSERT_OK(summary);
  ASSERT_TRUE(summary->history.has_value());
  EXPECT_FALSE(summary->run.has_value());
  RunHistory* report = &*summary->history;
  EXPECT_EQ(report->counts["failed"], 3);
  EXPECT_EQ(report->counts["published"], 1);
  EXPECT_EQ(report->input_tokens, 400);
  ASSERT_EQ(report->reasons.size(), 2u);
  EXPECT_EQ(report->reasons[0].category, "final check failed");
  EXPECT_EQ(report->reasons[0].count, 2);
  EXPECT_EQ(report->reasons[0].repositories, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(report->reasons[1].category, "clone failed");
  ASSERT_EQ(report->burndown.size(), 2u);
  EXPECT_EQ(report->burndown[1].merged, 1);
  EXPECT_EQ(report->funnel[4].count, 1);

  std::string md = RenderSummaryMarkdown(*summary);
  EXPECT_NE(md.find("| merged | 1 | 25% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1970-01-01T00:18:00Z | 0 | 1 | 0 |"), std::string::npos) << md;
  Json json = RenderSummaryJson(*summary);
  EXPECT_EQ(json["funnel"][2]["stage"], "verified");
  EXPECT_EQ(json["funnel"][2]["count"], 1);
  EXPECT_EQ(json["burndown"][0]["open"], 1);
  EXPECT_EQ(json["failure_reasons"][0]["count"], 2);
  EXPECT_EQ(BuildRunSummary(s, "nope", At(2000)).error().code, ErrorCode::kNotFound);
}

TEST(Report, HtmlEscapesHostileNamesAndReasonsAndIsSelfContained) {
  RunSummary summary;
  summary.run_id = "run<1>";
  summary.migration_id = "m\"x";
  RunHistory& report = summary.history.emplace();
  report.counts["failed"] = 1;
  report.reasons.push_back({"failed",
                            "<script>alert(1)</script>",
                            1,
                            "final check failed: <img src=x onerror=alert('x')>",
                            {"evil\"><script>steal()</script>"}});
  report.slowest.push_back({"a&b", "failed", 3.5});
  PullRequestRecord pr = Pr(1, PrState::kOpen);
  pr.repository = "<b>repo</b>";
  pr.url = "javascript:'\"><svg onload=x>";
  report.pull_requests.push_back(pr);
  report.burndown = {{At(0), 1, 0, 0}, {At(60), 0, 1, 0}};
  std::string html = RenderSummaryHtml(summary);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>repo"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("evil&quot;&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&amp;b"), std::string::npos);
  EXPECT_NE(html.find("run&lt;1&gt;"), std::string::npos);
  // The burndown is inline SVG, and nothing is fetched from elsewhere.
  EXPECT_NE(html.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(html.find("<polyline class=\"merged\""), std::string::npos);
  EXPECT_EQ(html.find("src=\""), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(EscapeHtml("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;");
}

// A run that just ended: one published job that fell back once, one failed on its final check
// with detected checks, and a pause.
RunReport EndedRun() {
  RunReport report;
  report.run_id = "r2";
  report.run_dir = "/state/runs/r2";
  report.migration_id = "rename-total";
  report.model = "openai:model-a,openai:model-b";
  report.isolation = "full";
  report.replayed = true;
  report.paused = "canary: 1 of 2 published, below 0.9";
  report.seconds = 2.5;
  JobReport shop;
  shop.repository = "shop";
  shop.status = JobStatus::kPublished;
  shop.turns = 4;
  shop.model = "openai:model-b";
  shop.fallbacks = 1;
  shop.input_tokens = 1536;
  shop.output_tokens = 1792;
  shop.cached_input_tokens = 512;
  shop.baseline = "test: passed";
  shop.verifier = "test: passed";
  shop.pr_url = "/state/runs/r2/jobs/shop/pr.md";
  shop.job_dir = "/state/runs/r2/jobs/shop";
  JobReport calc;
  calc.repository = "calc";
  calc.status = JobStatus::kFailed;
  calc.turns = 7;
  calc.baseline = "test: passed";
  calc.reason = "final check failed: test: FAILED exit 1";
  calc.checks = "test: from .github/workflows/ci.yml line 12 (job unit)";
  calc.job_dir = "/state/runs/r2/jobs/calc";
  report.jobs = {shop, calc};
  return report;
}

TEST(Summary, MarkdownOfAnEndedRunIsItsSummaryFile) {
  RunSummary summary = SummarizeRun(EndedRun());
  ASSERT_TRUE(summary.run.has_value());
  EXPECT_FALSE(summary.history.has_value());
  EXPECT_EQ(RenderSummaryMarkdown(summary),
            "# drover run r2\n\n"
            "Migration `rename-total`, model openai:model-a,openai:model-b, isolation full.\n\n"
            "> **Paused:** canary: 1 of 2 published, below 0.9\n\n"
            "> This run replayed recorded model exchanges: it tests the pipeline, not a model.\n\n"
            "| repository | status | turns | model | tokens (in/out, cached in) | verifier | PR / "
            "reason |\n"
            "|---|---|---:|---|---:|---|---|\n"
            "| shop | published | 4 | openai:model-b (after 1 fallback) | 1536/1792, 512 | final "
            "check: test: passed | /state/runs/r2/jobs/shop/pr.md |\n"
            "| calc | failed | 7 |  | 0/0, 0 | baseline: test: passed | final check failed: test: "
            "FAILED exit 1 |\n"
            "\n## Checks chosen by detection\n\n"
            "- calc: test: from .github/workflows/ci.yml line 12 (job unit)\n");
}

TEST(Summary, TextIsTheTableTheRunPrints) {
  std::string text = RenderSummaryText(SummarizeRun(EndedRun()));
  EXPECT_NE(text.find("\nREPOSITORY         STATUS          TURNS   TOKENS in/out  VERIFIER"
                      "                          "),
            std::string::npos)
      << text;
  // A local PR is shown below the run directory; a failed job shows its reason.
  EXPECT_NE(text.find("shop               published           4       1536/1792  test: pass"
                      "ed                       jobs/shop/pr.md\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("calc               failed              7             0/0  baseline: "
                      "test: passed             final check failed: test: FAILED exit 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n1 published, 1 failed, 0 skipped, 0 not applicable in 2.5s\n"
                      "Model: recorded exchanges replayed (a test of the pipeline, not of a "
                      "model).\nIsolation: full\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nPull requests to look at:\n  /state/runs/r2/jobs/shop/pr.md\n"
                      "  /state/runs/r2/jobs/shop/pr.patch\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(text.ends_with(
      "\nRun directory: /state/runs/r2 (summary.md, jobs/*/attempt-*/transcript.jsonl)\n"))
      << text;
}

TEST(Summary, JsonAndHtmlShowTheRunsJobsWhenItHasThem) {
  RunReport ended = EndedRun();
  ended.jobs[1].reason = "final check failed: <script>x</script>";
  RunSummary summary = SummarizeRun(ended);
  Json json = RenderSummaryJson(summary);
  EXPECT_EQ(json["run_id"], "r2");
  EXPECT_EQ(json["isolation"], "full");
  ASSERT_EQ(json["jobs"].size(), 2u);
  EXPECT_EQ(json["jobs"][0]["status"], "published");
  EXPECT_EQ(json["jobs"][0]["fallbacks"], 1);
  EXPECT_EQ(json["jobs"][1]["reason"], "final check failed: <script>x</script>");
  // No history was read: none of the store's sections is claimed.
  EXPECT_FALSE(json.contains("funnel"));
  EXPECT_FALSE(json.contains("counts"));
  std::string html = RenderSummaryHtml(summary);
  EXPECT_NE(html.find("<h1>drover run r2</h1>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>shop</td><td>published</td><td>4</td><td>1536/1792</td>"),
            std::string::npos)
      << html;
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos) << html;
  EXPECT_EQ(html.find("Funnel"), std::string::npos) << html;
}

// The report of a run read back from the store keeps its own title and sections.
TEST(Summary, MarkdownFromTheStoreIsTheReport) {
  RunSummary summary;
  summary.run_id = "r|1";
  summary.migration_id = "m";
  summary.history.emplace();
  std::string md = RenderSummaryMarkdown(summary);
  EXPECT_TRUE(md.starts_with("# drover report: r\\|1\n\nMigration `m`.\n\n## Jobs by status\n"))
      << md;
  EXPECT_NE(md.find("## Failure reasons\n\nNone.\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("| repository | status | turns |"), std::string::npos) << md;
}

}  // namespace
}  // namespace drover::fleet
