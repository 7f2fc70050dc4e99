// The fleet runner: one migration over a list of targets. Per target it prepares a worktree,
// runs the baseline, runs `drover agent` attempts against the gateway, re-verifies the result
// itself, and publishes through the forge. Library code: progress goes to a RunObserver.
// RunMigration is called once per run; observers are called from job threads concurrently.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llm/model.h"
#include "core/error.h"
#include "core/json.h"
#include "gateway/gateway.h"
#include "gateway/prices.h"
#include "gateway/rate_governor.h"
#include "fleet/job_state.h"
#include "fleet/run_deps.h"
#include "spec/spec.h"
#include "spec/targets.h"

namespace drover::fleet {

struct JobReport {
  std::string repository;
  std::string location;
  JobStatus status = JobStatus::kFailed;
  // Last step reached (JobStep: preparing, prepared, baseline, waiting for an agent slot,
  // agent, verifying, verified, judging, publishing, published); none ("" in job.json) when the
  // job ended before its first.
  std::optional<JobStep> step;
  std::string reason;  // Why it failed or was skipped; empty when published.
  // For a failed job, what failed, as decided where it failed ("" in job.json otherwise).
  std::optional<FailureKind> failure_kind;
  int attempts = 0;
  int turns = 0;       // Over all attempts.
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;  // The part of input_tokens the provider served from cache.
  // "provider:model" of the upstream that answered the job's last model request; empty when
  // replayed or when no upstream answered.
  std::string model;
  int fallbacks = 0;  // Moves to the next model of the run's list (GatewayOptions::upstreams).
  // Time the job's agent waited for a build slot or the rate governor (Gateway::CapacityWait),
  // not counted against its wall-clock limit.
  double capacity_wait_seconds = 0;
  std::string baseline;  // Verifier summary on the untouched tree.
  std::string verifier;  // Runner's final verifier summary ("" when never reached).
  // How the checks the repository was judged by were chosen by detection, one per check
  // ("test: from .github/workflows/ci.yml line 23 (job unit)"); "" when the spec named them.
  std::string checks;
  std::string pr_url;
  std::string branch;
  int files_changed = 0;
  int lines_added = 0;
  int lines_removed = 0;
  double seconds = 0;
  std::filesystem::path job_dir;
  std::string isolation;  // What the job's agent and verifiers ran in (RunReport::isolation).
  // What the diff policy flagged rather than refused (PolicyVerdict): changes to files that
  // define how verification runs, and weakened tests. One sentence each; shown in the PR.
  std::vector<std::string> verification_changes;
  std::vector<std::string> weakened_tests;
  Json ToJson() const;
};

// Reads what JobReport::ToJson wrote. kParse naming the field when "status" is not an end (a
// running job's job.json says "running") or "step" or "failure_kind" is not a known name.
Result<JobReport> ParseJobReport(const Json& json);
// ParseJobReport, nullopt when it is not a finished job's report.
std::optional<JobReport> JobReportFromJson(const Json& json);

struct RunReport {
  std::string run_id;
  std::filesystem::path run_dir;
  std::string migration_id;
  std::string model;  // "openai:gpt-4.1", "replay:DIR"
  bool replayed = false;
  // "full", "partial: no cgroup (...)" (from the sandbox probe) or "none (--sandbox=none)".
  std::string isolation;
  // Jobs an earlier run of the same id had finished: kept as they were, not run again.
  int resumed_jobs = 0;
  // No run id was given and an unfinished run of the same spec and targets was found in the
  // state store (RunOptions::fresh not set): this is that run, going on.
  bool continued = false;
  // Set when the run paused itself (a canary wave below its bar): why, with the figures.
  // Jobs not started then are reported as skipped with that reason.
  std::string paused;
  std::vector<JobReport> jobs;
  double seconds = 0;
  int CountWith(JobStatus status) const;
  Json ToJson() const;
};

struct ModelSetting {
  // The first model's provider and name: the protocol and model the agents ask for.
  agent::Provider provider = agent::Provider::kOpenAiChat;
  std::string model;  // Upstream model name; for replay, the label in reports.
  // Exactly one of these: real upstreams (the first, then fallbacks in order), or a folder of
  // cassettes (<repository>.json).
  std::vector<UpstreamConfig> upstreams;
  std::optional<std::filesystem::path> replay_dir;
  std::string Describe() const;
};

// Parses DROVER_MODEL-style text: "replay:DIR", or a comma-separated list of PROVIDER:MODEL
// (providers: openai, openai-responses, anthropic) tried in that order, taking keys and base
// URLs from `env` (OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL).
// kInvalidArgument names the entry and what is missing.
Result<ModelSetting> ParseModelSetting(std::string_view text,
                                       const std::map<std::string, std::string>& env);

enum class SandboxMode {
  kRequired,  // Agents and verifiers run isolated; the run is refused where that cannot work.
  kNone,      // `--sandbox=none`: plain processes with a clean environment, on trusted input.
};

struct RunOptions {
  // Read by the RunMigration that loads its input from files; the other is given it parsed.
  std::filesystem::path migration_file;
  std::filesystem::path repos_file;
  std::filesystem::path state_dir;  // Mirrors in state_dir/mirrors, runs in state_dir/runs.
  // Default: the latest unfinished run in this state dir of the same spec (its content) over
  // the same targets (names and locations), when no other process is running it; else a new
  // run <migration id>-<UTC timestamp>.
  std::string run_id;
  bool fresh = false;  // With no run_id: always a new run, never an unfinished one.
  // Agent slots: agent processes at once (model-bound: an agent mostly waits on the model, so
  // this can be far above the number of cores).
  int agents = 4;
  // Repositories in flight: besides those whose agents run, the others prepare, check or
  // publish, so that a job is ready whenever an agent slot frees (even when many agents end
  // at once). 0: twice the agent slots plus the build slots.
  int max_in_flight = 0;
  // Build slots: verifier and agent commands running at once (CPU-bound). Baseline and final
  // checks take one in the runner; an agent's run/verify commands take one through the
  // gateway. 0: std::thread::hardware_concurrency().
  int builds = 0;
  ModelSetting model;
  std::optional<std::filesystem::path> record_dir;  // Save cassettes of upstream exchanges.
  std::filesystem::path drover_binary;  // Started as `drover agent` for each attempt.
  std::map<std::string, std::string> parent_env;  // Source of PATH/LANG for children.
  bool keep_workspaces = false;
  // The mirror cache's bound (state_dir/mirrors): least recently used mirrors no running job
  // uses are removed beyond it, checked as jobs finish. 0: no bound (and none is kept with
  // keep_workspaces, whose kept working copies borrow objects from the mirrors).
  uint64_t mirror_cache_bytes = 0;
  SandboxMode sandbox = SandboxMode::kRequired;
  // Input + output tokens for the whole run (this process's share of it); once spent, no
  // further repository starts (those are skipped, and `drover retry --status skipped` puts
  // them back). 0: no run-wide limit; each job still has the spec's own.
  int64_t max_run_tokens = 0;
  // The same in US dollars, the run's usage priced at `cost_price` (the highest price of its
  // models); 0: no cost budget.
  double max_run_cost_usd = 0;
  Price cost_price;
  // The provider key's limits, shared by every job (the gateway's RateGovernor); 0: none.
  RateLimits model_limits;
  // `--forge` and `--forge-url`: override the spec's `forge` kind and API root when set. The
  // token is read from parent_env by the name the spec gives (forge.token_env).
  std::optional<ForgeKind> forge;
  std::string forge_url;
};

// A run's progress at one moment, for a live display.
struct RunProgress {
  size_t targets = 0;
  std::map<JobStatus, size_t> finished;  // Finished jobs by status (resumed ones included).
  int jobs_in_flight = 0;    // Repositories being worked on.
  int agents_in_flight = 0;  // Of those, jobs whose agent process runs now (agent slots used).
  int builds_in_flight = 0;  // Build slots in use.
  int agent_slots = 0;
  int build_slots = 0;
  int64_t tokens = 0;          // Input + output tokens spent by this process so far.
  double elapsed_seconds = 0;  // Since this process started the run.
  double job_seconds = 0;      // Summed duration of the jobs this process finished.
  size_t jobs_timed = 0;       // How many jobs job_seconds sums.
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void OnRunStarted(const RunReport& /*run*/, size_t /*targets*/) {}
  virtual void OnJobStep(const std::string& /*repository*/, std::string_view /*step*/) {}
  virtual void OnJobFinished(const JobReport& /*job*/) {}
  // About four times a second while jobs run, from one thread of the runner.
  virtual void OnProgress(const RunProgress& /*progress*/) {}
  // The run stopped starting repositories and leaves the rest for later (a canary wave
  // below its bar); `why` says so with the figures.
  virtual void OnRunPaused(const std::string& /*why*/) {}
};

// What a run works on, parsed: the spec, its text (a run is found again by the hash of this
// text over the same targets) and the targets.
struct RunInput {
  MigrationSpec spec;
  std::string spec_text;
  std::vector<Target> targets;
};

// What identifies a spec's text in the state store (RunRecord::spec_hash): a run goes on with
// the unfinished run of the same hash over the same targets.
std::string SpecHash(std::string_view spec_text);

// Resolves the forge (kInvalidArgument when its token is not set), probes the sandbox
// (kPermissionDenied saying why, when it cannot isolate and the mode is kRequired), then runs
// every target of `input` with `deps`. A job's failure is a JobReport, never an error of the
// run. Errors: no targets (kInvalidArgument), or a run directory that cannot be created.
// options.migration_file and options.repos_file are not read.
Result<RunReport> RunMigration(const RunOptions& options, const RunInput& input,
                               const RunDeps& deps, RunObserver& observer);

// Loads the spec and targets from options.migration_file and options.repos_file (errors:
// kInvalidArgument naming file, line and field; nothing runs), then runs them as above.
Result<RunReport> RunMigration(const RunOptions& options, const RunDeps& deps,
                               RunObserver& observer);

// Writes run_dir/summary.json and run_dir/summary.md.
Status WriteRunSummary(const RunReport& report);

}  // namespace drover::fleet
