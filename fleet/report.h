// A run's summary, one model whichever way it is read: from the run's own report at the end of
// `drover run` (the jobs table, summary.md and the terminal's table) or from the state store
// for `drover report` (counts by status, the funnel targeted → attempted → verified → PR
// opened → merged, failure reasons grouped, the slowest jobs, tokens, the PRs as last tracked
// and a burndown of open/merged PRs over time); rendered as Markdown, JSON, HTML or the
// terminal's text. Also `drover track`: refreshing PR states from the forges.
// Thread-safe: free functions; the store and clients passed in are.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "core/json.h"
#include "fleet/runner.h"
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

// What the process that ran knows and the store does not.
struct RunFacts {
  std::string model;      // RunReport::model.
  std::string isolation;  // RunReport::isolation.
  bool replayed = false;
  std::string paused;  // Why the run paused itself; empty when it did not.
  double seconds = 0;
  std::filesystem::path run_dir;
};

// One row of the jobs table: what a job came to.
struct SummaryJob {
  std::string repository;
  JobStatus status = JobStatus::kFailed;
  int turns = 0;
  std::string model;  // The upstream that served its last request; empty when replayed.
  int fallbacks = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  std::string baseline;  // Verifier summaries: on the untouched tree, and the final check's.
  std::string verifier;
  std::string pr_url;  // Published jobs.
  std::string reason;  // The others.
  std::string checks;  // How detection chose its checks; empty when the spec named them.
  std::filesystem::path job_dir;
};

// What the state store knows of a run, jobs finished or not.
struct RunHistory {
  std::map<std::string, int64_t> counts;  // By job state name.
  std::vector<FunnelStage> funnel;
  std::vector<ReasonGroup> reasons;
  std::vector<SlowJob> slowest;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  std::vector<PullRequestRecord> pull_requests;
  std::vector<BurndownPoint> burndown;
};

// Each renderer shows the parts a summary has, in one order: the run's facts and its jobs
// table (SummarizeRun), then the store's sections (BuildRunSummary).
struct RunSummary {
  std::string run_id;
  std::string migration_id;
  std::optional<RunFacts> run;
  std::vector<SummaryJob> jobs;
  std::optional<RunHistory> history;
};

// The summary of a run that just ended, from its report (already masked by the runner).
RunSummary SummarizeRun(const RunReport& report);

// The funnel over the run's jobs (their stored JobReport details) and PRs. A job counts as
// attempted once an agent attempt ran, verified once it passed the runner's final check.
std::vector<FunnelStage> ComputeFunnel(const std::vector<JobRecord>& jobs,
                                       const std::vector<PullRequestRecord>& prs);

// One point per transition time: how many PRs were open, merged and closed right after it.
std::vector<BurndownPoint> ComputeBurndown(const std::vector<PullRequestTransition>& transitions);

// Reads everything from the store (the summary's history). Errors: the store's (kNotFound for
// an unknown run).
Result<RunSummary> BuildRunSummary(StateStore& store, std::string_view run_id, StoreTime now);

// The renderers. Markdown: summary.md of a run, `drover report`'s default. JSON: `drover report
// --format json` (a run's summary.json is RunReport::ToJson: every job's whole report).
// HTML: one page with no external asset (inline CSS and SVG); every text from the run is
// escaped. Text: the table `drover run` prints on a terminal.
std::string RenderSummaryMarkdown(const RunSummary& summary);
Json RenderSummaryJson(const RunSummary& summary);
std::string RenderSummaryHtml(const RunSummary& summary);
std::string RenderSummaryText(const RunSummary& summary);

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
