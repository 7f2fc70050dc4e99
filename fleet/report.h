// A run's report for people and programs: counts by status, the funnel (targeted → attempted
// → verified → PR opened → merged), failure reasons grouped, the slowest jobs, tokens, the
// PRs as last tracked and a burndown of open/merged PRs over time; rendered as Markdown, JSON
// or one self-contained HTML page. Also `drover track`: refreshing PR states from the forges.
// Thread-safe: free functions; the store and clients passed in are.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "core/json.h"
#include "forge/forge_governor.h"
#include "git/git.h"
#include "store/state_store.h"

namespace drover::fleet {

struct FunnelStage {
  std::string name;  // "targeted", "attempted", "verified", "pr_opened", "merged".
  int64_t count = 0;
  double percent = 0;  // Of targeted; 0 when nothing was targeted.
};

struct ReasonGroup {
  std::string status;    // "failed" or "skipped".
  std::string category;  // The reason up to its first ": " ("final check failed", "forge").
  int64_t count = 0;
  std::string example;  // One full reason.
  std::vector<std::string> repositories;
};

struct SlowJob {
  std::string repository;
  std::string state;
  double seconds = 0;
};

struct BurndownPoint {
  StoreTime at;
  int64_t open = 0;
  int64_t merged = 0;
  int64_t closed = 0;
};

struct RunSummaryReport {
  std::string run_id;
  std::string migration_id;
  std::map<std::string, int64_t> counts;  // By job state name.
  std::vector<FunnelStage> funnel;
  std::vector<ReasonGroup> reasons;
  std::vector<SlowJob> slowest;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  std::vector<PullRequestRecord> pull_requests;
  std::vector<BurndownPoint> burndown;
};

// The funnel over the run's jobs (their stored JobReport details) and PRs. A job counts as
// attempted once an agent attempt ran, verified once it passed the runner's final check.
std::vector<FunnelStage> ComputeFunnel(const std::vector<JobRecord>& jobs,
                                       const std::vector<PullRequestRecord>& prs);

// One point per transition time: how many PRs were open, merged and closed right after it.
std::vector<BurndownPoint> ComputeBurndown(const std::vector<PullRequestTransition>& transitions);

// Reads everything from the store. Errors: the store's (kNotFound for an unknown run).
Result<RunSummaryReport> BuildRunReport(StateStore& store, std::string_view run_id, StoreTime now);

std::string RenderReportMarkdown(const RunSummaryReport& report);
Json ReportToJson(const RunSummaryReport& report);
// One page with no external asset (inline CSS and SVG); every text from the run is escaped.
std::string RenderReportHtml(const RunSummaryReport& report);

// "&", "<", ">", '"' and "'" as HTML entities.
std::string EscapeHtml(std::string_view text);

struct PullRequestChange {
  std::string repository;
  std::string url;
  PrState from = PrState::kOpen;
  PrState to = PrState::kOpen;
  std::string checks;
  std::string error;  // Why the PR could not be read; its record is unchanged then.
  bool changed() const { return error.empty() && from != to; }
};

// `drover track`: reads every PR of the run through its forge (forges.h, ReadPullRequest) and
// records the new states at `now` (a transition when the state moved). One PR that cannot be
// read gets `error` and does not stop the others. Errors: the store's.
Result<std::vector<PullRequestChange>> TrackPullRequests(
    StateStore& store, std::string_view run_id, GitRepos& git, HttpClient& http,
    ForgeGovernor& governor, const std::map<std::string, std::string>& env, StoreTime now);

}  // namespace drover::fleet
