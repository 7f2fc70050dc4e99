// The run state store: what a run has done, written ahead of each step so that a killed
// `drover run` resumes where it stopped. Thread-safe: every method may be called from any
// thread; several stores (processes) may share one database file.
//
// What is stored
//   runs         id, migration id, spec hash, created time, control (running|paused|cancelled)
//   jobs         one row per (run, repository): state, last step, reason, details, times
//   job_steps    append-only log of every AdvanceJob, in order (seq per job)
//   attempts     agent attempt k of a job: started, finished, outcome
//   model_steps  finished model exchanges by idempotency key, with their response
//   publications the PR claim of a job: "publishing" (claimed), then url + number
//   pull_requests        a published job's PR: forge, url, number, state, checks (`drover track`)
//   pull_request_events  every state a PR was seen in, with its time (the report's burndown)
//
// When it is written
//   Write-ahead: the runner calls AdvanceJob(step) and waits for it to return OK before it
//   performs the step's side effects; the job row and its log entry are one transaction, so
//   after a crash both agree. A model response is recorded once the exchange finished and
//   before the agent acts on it. ClaimPublication commits "publishing" before the forge is
//   asked to open a PR; RecordPublication commits its url after. Every commit is durable when
//   the call returns (WAL, synchronous=FULL), also across a power loss.
//
// How resume works
//   CreateRun again with the same id and spec hash (a different hash is refused);
//   MarkInterrupted(run) turns jobs left in kRunning into kInterrupted and returns them (their
//   worktrees are stale and are to be removed); JobsToResume(run) lists every job not in a
//   terminal state with its last step. Terminal jobs (published, failed, skipped,
//   not_applicable) are never advanced again: AdvanceJob refuses. A job whose publication is
//   "publishing" must look up the forge for an open PR on its head branch before opening one.
//   FindModelStep returns the recorded response of a finished model exchange, so it is not
//   paid for twice.
//
// Not covered
//   Side effects outside the store: a step interrupted half-way is redone from its start (its
//   work must be idempotent or cleaned up), a model exchange interrupted before it finished is
//   paid again, and the PR opened before a crash is found only by asking the forge. Worktrees,
//   transcripts and reports stay files in the run directory. No history pruning.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace drover::fleet {

// Stored as whole milliseconds since the Unix epoch.
using StoreTime = std::chrono::system_clock::time_point;

// The schema version this build writes; older databases are migrated forward when opened, a
// newer one is refused.
inline constexpr int kStateStoreSchemaVersion = 2;

enum class RunControl {
  kRunning,
  kPaused,     // The runner starts no new job step until it is running again.
  kCancelled,  // Final: the runner stops; cannot be set back.
};
std::string_view RunControlName(RunControl control);  // "running", "paused", "cancelled"

enum class JobState {
  kPending,      // Upserted, no step recorded yet.
  kRunning,      // A step was recorded and its work may be under way.
  kInterrupted,  // Was kRunning when its run stopped (MarkInterrupted); to be resumed.
  kPublished,    // Terminal from here on; these four mirror JobStatus (fleet/job_state.h).
  kFailed,
  kSkipped,
  kNotApplicable,
};
std::string_view JobStateName(JobState state);  // "pending", "running", ..., "not_applicable"
bool IsTerminal(JobState state);

struct RunRecord {
  std::string run_id;
  std::string migration_id;
  std::string spec_hash;
  StoreTime created_at;
  RunControl control = RunControl::kRunning;
};

struct JobRecord {
  int64_t id = 0;
  std::string run_id;
  std::string repository;
  std::string location;
  JobState state = JobState::kPending;
  std::string step;                      // Last step recorded; "" while kPending.
  std::string reason;                    // Of the last step (why it failed or was skipped).
  std::string details_json;              // Of the last step, as given; "" when none.
  std::optional<StoreTime> started_at;   // First AdvanceJob.
  std::optional<StoreTime> updated_at;   // Last AdvanceJob.
  std::optional<StoreTime> finished_at;  // When it reached a terminal state.
};

struct StepRecord {
  int64_t seq = 0;  // 1, 2, ... per job, in commit order.
  std::string step;
  JobState state = JobState::kPending;
  std::string reason;
  std::string details_json;
  StoreTime at;
};

struct AttemptRecord {
  int number = 0;
  StoreTime started_at;
  std::optional<StoreTime> finished_at;
  std::string outcome;  // "" until finished.
};

struct JobDuration {
  JobRecord job;
  std::chrono::milliseconds elapsed{0};  // started → finished, or started → `now`.
};

struct PublicationClaim {
  enum class Outcome {
    kClaimed,     // Nothing was recorded; now "publishing": open the PR, then record it.
    kInProgress,  // Claimed before and never recorded (a crash in between): look up the
                  // forge for an open PR on `head_branch` before opening one.
    kPublished,   // Recorded: `url` and `number` are the PR; open nothing.
  };
  Outcome outcome = Outcome::kClaimed;
  std::string head_branch;  // As claimed first.
  std::string url;          // Set when kPublished.
  int64_t number = 0;       // Set when kPublished.
};

enum class PrState { kOpen, kMerged, kClosed };
std::string_view PrStateName(PrState state);  // "open", "merged", "closed"

// A published job's pull request, as last seen. Holds the name of the token's environment
// variable, never a token.
struct PullRequestRecord {
  int64_t job_id = 0;
  std::string repository;  // Of the job (filled in by ListPullRequests).
  std::string forge;       // "local", "github", "gitlab".
  std::string api_url;     // The forge's API root; "" for local and the public hosts.
  std::string token_env;   // Environment variable holding the forge's token; "" for local.
  std::string location;    // The target repository's location.
  std::string base_branch;
  std::string head_branch;
  std::string head_commit;  // Hex sha published.
  std::string url;
  int64_t number = 0;  // 0 for local.
  PrState state = PrState::kOpen;
  std::string checks = "none";  // none, pending, success, failure.
  StoreTime updated_at;
};

struct PullRequestTransition {
  int64_t job_id = 0;
  std::string repository;
  PrState state = PrState::kOpen;
  StoreTime at;
};

// Errors of every method: kIo for a database failure (message names the db file and what was
// being done), kNotFound for an unknown run or job, kInvalidArgument for a refused transition.
class StateStore {
 public:
  virtual ~StateStore() = default;

  // Creates the run in control state kRunning. Creating an existing run again with the same
  // migration id and spec hash succeeds and changes nothing (a resume); with another one it
  // is kInvalidArgument.
  virtual Status CreateRun(std::string_view run_id, std::string_view migration_id,
                           std::string_view spec_hash, StoreTime created_at) = 0;
  virtual Result<RunRecord> GetRun(std::string_view run_id) = 0;
  virtual Result<std::vector<RunRecord>> ListRuns() = 0;  // Oldest first.

  // Running ↔ paused, and either → cancelled; leaving kCancelled is kInvalidArgument.
  virtual Status SetRunControl(std::string_view run_id, RunControl control) = 0;
  virtual Result<RunControl> GetRunControl(std::string_view run_id) = 0;

  // Returns the job's id, creating it (kPending) on first call; later calls keep its state
  // and update its location.
  virtual Result<int64_t> UpsertJob(std::string_view run_id, std::string_view repository,
                                    std::string_view location) = 0;
  // Records that the job is now at `step` in `state`: appends to its step log and updates its
  // row in one transaction, durable on return. REQUIRES: the job is not terminal (else
  // kInvalidArgument), `state` is not kPending or kInterrupted.
  virtual Status AdvanceJob(int64_t job_id, std::string_view step, JobState state,
                            std::string_view reason, std::string_view details_json,
                            StoreTime at) = 0;
  virtual Result<JobRecord> GetJob(int64_t job_id) = 0;
  // The run's jobs by id (insertion order), only those in `state` when given.
  virtual Result<std::vector<JobRecord>> ListJobs(std::string_view run_id,
                                                  std::optional<JobState> state) = 0;
  virtual Result<std::vector<StepRecord>> ListSteps(int64_t job_id) = 0;  // Oldest first.
  // Every state with at least one job.
  virtual Result<std::map<JobState, int64_t>> CountJobs(std::string_view run_id) = 0;
  // Up to `limit` started jobs, longest first; unfinished ones count until `now`.
  virtual Result<std::vector<JobDuration>> SlowestJobs(std::string_view run_id, int limit,
                                                       StoreTime now) = 0;

  // Attempts are numbered from 1. Beginning an attempt again (after a resume) restarts it.
  virtual Status BeginAttempt(int64_t job_id, int number, StoreTime started_at) = 0;
  virtual Status FinishAttempt(int64_t job_id, int number, std::string_view outcome,
                               StoreTime finished_at) = 0;
  virtual Result<std::vector<AttemptRecord>> ListAttempts(int64_t job_id) = 0;

  // `key` identifies the exchange (for example a hash of the request). Recording a key again
  // keeps the first response: the one the run already acted on.
  virtual Status RecordModelStep(int64_t job_id, int attempt, std::string_view key,
                                 std::string_view response_json) = 0;
  // The recorded response, or nullopt when this exchange never finished.
  virtual Result<std::optional<std::string>> FindModelStep(int64_t job_id, int attempt,
                                                           std::string_view key) = 0;

  // See PublicationClaim. Atomic: of two claims, one gets kClaimed.
  virtual Result<PublicationClaim> ClaimPublication(int64_t job_id,
                                                    std::string_view head_branch) = 0;
  // REQUIRES: a claim (else kInvalidArgument). Recording again overwrites url and number.
  virtual Status RecordPublication(int64_t job_id, std::string_view url, int64_t number) = 0;

  // Inserts or replaces the job's PR record; when its state differs from the stored one (or
  // there was none) a transition at `pr.updated_at` is appended. Returns whether it was.
  virtual Result<bool> RecordPullRequest(const PullRequestRecord& pr) = 0;
  // The run's PR records by job id.
  virtual Result<std::vector<PullRequestRecord>> ListPullRequests(std::string_view run_id) = 0;
  // The run's PR transitions, oldest first.
  virtual Result<std::vector<PullRequestTransition>> ListPullRequestTransitions(
      std::string_view run_id) = 0;

  // Jobs not in a terminal state (pending, running, interrupted) with their last step.
  virtual Result<std::vector<JobRecord>> JobsToResume(std::string_view run_id) = 0;
  // Turns the run's kRunning jobs into kInterrupted (logging an entry at their last step) and
  // returns them as they are now. Call once when a run is resumed, before any job starts.
  virtual Result<std::vector<JobRecord>> MarkInterrupted(std::string_view run_id, StoreTime at) = 0;
  // `drover retry`: the run's jobs in terminal `state` (e.g. kFailed) go back to kPending
  // (logged as "retry requested"), with their recorded model steps and any unfinished
  // publication claim dropped, so the next run of this id works on them afresh. Returns them.
  // REQUIRES: `state` is terminal and not kPublished (kInvalidArgument).
  virtual Result<std::vector<JobRecord>> RetryJobs(std::string_view run_id, JobState state,
                                                   StoreTime at) = 0;
};

// Opens (creating if needed) the SQLite database at `db` and migrates its schema forward.
// Errors: kIo naming `db` when it cannot be opened or migrated; kInvalidArgument when its
// schema is newer than this build's. The returned store owns one connection.
Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::filesystem::path& db);

}  // namespace drover::fleet
