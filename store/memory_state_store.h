// A StateStore held in memory: the same contract as the SQLite store (state_store.h), without
// durability. For tests of the code that drives a store, and for runs that need no resume.
// Thread-safe: every method may be called from any thread; handles made by Share() see one
// state, as connections to one database file do.
#pragma once

#include <memory>
#include <string>

#include "store/state_store.h"

namespace drover::fleet {

class MemoryStateStore : public StateStore {
 public:
  // `name` stands where the SQLite store names its file in error messages.
  explicit MemoryStateStore(std::string name = "memory");
  ~MemoryStateStore() override;
  MemoryStateStore(const MemoryStateStore&) = delete;
  MemoryStateStore& operator=(const MemoryStateStore&) = delete;

  // Another handle on the same state; the state lives while any handle does.
  std::unique_ptr<MemoryStateStore> Share() const;

  Status CreateRun(std::string_view run_id, std::string_view migration_id,
                   std::string_view spec_hash, StoreTime created_at) override;
  Result<RunRecord> GetRun(std::string_view run_id) override;
  Result<std::vector<RunRecord>> ListRuns() override;
  Status SetRunControl(std::string_view run_id, RunControl control) override;
  Result<RunControl> GetRunControl(std::string_view run_id) override;
  Result<int64_t> UpsertJob(std::string_view run_id, std::string_view repository,
                            std::string_view location) override;
  Status AdvanceJob(int64_t job_id, std::string_view step, JobState state,
                    std::string_view reason, std::string_view details_json,
                    StoreTime at) override;
  Result<JobRecord> GetJob(int64_t job_id) override;
  Result<std::vector<JobRecord>> ListJobs(std::string_view run_id,
                                          std::optional<JobState> state) override;
  Result<std::vector<StepRecord>> ListSteps(int64_t job_id) override;
  Result<std::map<JobState, int64_t>> CountJobs(std::string_view run_id) override;
  Result<std::vector<JobDuration>> SlowestJobs(std::string_view run_id, int limit,
                                               StoreTime now) override;
  Status BeginAttempt(int64_t job_id, int number, StoreTime started_at) override;
  Status FinishAttempt(int64_t job_id, int number, std::string_view outcome,
                       StoreTime finished_at) override;
  Result<std::vector<AttemptRecord>> ListAttempts(int64_t job_id) override;
  Status RecordModelStep(int64_t job_id, int attempt, std::string_view key,
                         std::string_view response_json) override;
  Result<std::optional<std::string>> FindModelStep(int64_t job_id, int attempt,
                                                   std::string_view key) override;
  Result<PublicationClaim> ClaimPublication(int64_t job_id,
                                            std::string_view head_branch) override;
  Status RecordPublication(int64_t job_id, std::string_view url, int64_t number) override;
  Result<bool> RecordPullRequest(const PullRequestRecord& pr) override;
  Result<std::vector<PullRequestRecord>> ListPullRequests(std::string_view run_id) override;
  Result<std::vector<PullRequestTransition>> ListPullRequestTransitions(
      std::string_view run_id) override;
  Result<std::vector<JobRecord>> JobsToResume(std::string_view run_id) override;
  Result<std::vector<JobRecord>> MarkInterrupted(std::string_view run_id, StoreTime at) override;
  Result<std::vector<JobRecord>> RetryJobs(std::string_view run_id, JobState state,
                                           StoreTime at) override;

 private:
  struct State;
  explicit MemoryStateStore(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace drover::fleet
