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

  auto report = BuildRunReport(s, "r1", At(2000));
  ASSERT_OK(report);
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

  std::string md = RenderReportMarkdown(*report);
  EXPECT_NE(md.find("| merged | 1 | 25% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1970-01-01T00:18:00Z | 0 | 1 | 0 |"), std::string::npos) << md;
  Json json = ReportToJson(*report);
  EXPECT_EQ(json["funnel"][2]["stage"], "verified");
  EXPECT_EQ(json["funnel"][2]["count"], 1);
  EXPECT_EQ(json["burndown"][0]["open"], 1);
  EXPECT_EQ(json["failure_reasons"][0]["count"], 2);
  EXPECT_EQ(BuildRunReport(s, "nope", At(2000)).error().code, ErrorCode::kNotFound);
}

TEST(Report, HtmlEscapesHostileNamesAndReasonsAndIsSelfContained) {
  RunSummaryReport report;
  report.run_id = "run<1>";
  report.migration_id = "m\"x";
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
  std::string html = RenderReportHtml(report);
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

}  // namespace
}  // namespace drover::fleet
