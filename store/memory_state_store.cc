#include "store/memory_state_store.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <tuple>
#include <utility>

namespace drover::fleet {
namespace {

// Whole milliseconds, as the SQLite store keeps them, so both stores answer alike.
StoreTime Truncated(StoreTime time) {
  return StoreTime(std::chrono::duration_cast<StoreTime::duration>(
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch())));
}

struct Publication {
  std::string head_branch;
  bool published = false;
  std::string url;
  int64_t number = 0;
};

struct JobData {
  JobRecord record;
  std::vector<StepRecord> steps;
  std::map<int, AttemptRecord> attempts;
  std::map<std::pair<int, std::string>, std::string> model_steps;
  std::optional<Publication> publication;
  std::optional<PullRequestRecord> pull_request;
};

struct PrEvent {
  int64_t job_id = 0;
  int64_t seq = 0;
  PrState state = PrState::kOpen;
  StoreTime at;
};

}  // namespace

struct MemoryStateStore::State {
  explicit State(std::string store_name) : name(std::move(store_name)) {}

  Error Err(ErrorCode code, std::string_view purpose, std::string_view what) const {
    return Error{code, "state store " + name + ": " + std::string(purpose) + ": " +
                           std::string(what), std::nullopt};
  }

  // The job, or kNotFound for `purpose`. REQUIRES: mutex held.
  Result<JobData*> Job(int64_t job_id, std::string_view purpose) {
    auto it = jobs.find(job_id);
    if (it == jobs.end()) return Fail(Err(ErrorCode::kNotFound, purpose, "no such job"));
    return &it->second;
  }

  // The step log entry and the job's row, as the SQLite store's AppendStep. REQUIRES: mutex.
  Status AppendStep(JobData& job, std::string_view step, JobState state, std::string_view reason,
                    std::string_view details_json, StoreTime at, std::string_view purpose) {
    JobRecord& record = job.record;
    if (IsTerminal(record.state)) {
      return Fail(Err(ErrorCode::kInvalidArgument, purpose,
                      "job " + record.repository + " is already " +
                          std::string(JobStateName(record.state))));
    }
    at = Truncated(at);
    int64_t seq = job.steps.empty() ? 1 : job.steps.back().seq + 1;
    job.steps.push_back(StepRecord{seq, std::string(step), state, std::string(reason),
                                   std::string(details_json), at});
    record.state = state;
    record.step = std::string(step);
    record.reason = std::string(reason);
    record.details_json = std::string(details_json);
    if (!record.started_at) record.started_at = at;
    record.updated_at = at;
    record.finished_at = IsTerminal(state) ? std::optional<StoreTime>(at) : std::nullopt;
    return {};
  }

  std::vector<JobRecord> JobsOf(std::string_view run_id,
                                const std::function<bool(const JobRecord&)>& keep) const {
    std::vector<JobRecord> out;
    for (const auto& [id, job] : jobs) {
      if (job.record.run_id == run_id && keep(job.record)) out.push_back(job.record);
    }
    return out;
  }

  std::string name;
  std::mutex mutex;
  std::map<std::string, RunRecord, std::less<>> runs;
  std::map<int64_t, JobData> jobs;  // By id, ids given in insertion order.
  int64_t next_job_id = 1;
  std::vector<PrEvent> events;
};

MemoryStateStore::MemoryStateStore(std::string name)
    : state_(std::make_shared<State>(std::move(name))) {}

MemoryStateStore::MemoryStateStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

MemoryStateStore::~MemoryStateStore() = default;

std::unique_ptr<MemoryStateStore> MemoryStateStore::Share() const {
  return std::unique_ptr<MemoryStateStore>(new MemoryStateStore(state_));
}

Status MemoryStateStore::CreateRun(std::string_view run_id, std::string_view migration_id,
                                   std::string_view spec_hash, StoreTime created_at) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->runs.find(run_id);
  if (it != state_->runs.end()) {
    if (it->second.migration_id != migration_id || it->second.spec_hash != spec_hash) {
      return Fail(state_->Err(ErrorCode::kInvalidArgument, "creating run " + std::string(run_id),
                              "the run exists with another migration or spec (migration " +
                                  it->second.migration_id + ", spec hash " +
                                  it->second.spec_hash + ")"));
    }
    return {};
  }
  state_->runs.emplace(std::string(run_id),
                       RunRecord{std::string(run_id), std::string(migration_id),
                                 std::string(spec_hash), Truncated(created_at),
                                 RunControl::kRunning});
  return {};
}

Result<RunRecord> MemoryStateStore::GetRun(std::string_view run_id) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->runs.find(run_id);
  if (it == state_->runs.end()) {
    return Fail(state_->Err(ErrorCode::kNotFound, "reading run " + std::string(run_id),
                            "no such run"));
  }
  return it->second;
}

Result<std::vector<RunRecord>> MemoryStateStore::ListRuns() {
  std::lock_guard lock(state_->mutex);
  std::vector<RunRecord> runs;
  for (const auto& [id, run] : state_->runs) runs.push_back(run);
  std::stable_sort(runs.begin(), runs.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(a.created_at, a.run_id) < std::tie(b.created_at, b.run_id);
  });
  return runs;
}

Status MemoryStateStore::SetRunControl(std::string_view run_id, RunControl control) {
  std::lock_guard lock(state_->mutex);
  std::string purpose =
      "setting run " + std::string(run_id) + " to " + std::string(RunControlName(control));
  auto it = state_->runs.find(run_id);
  if (it == state_->runs.end()) {
    return Fail(state_->Err(ErrorCode::kNotFound, purpose, "no such run"));
  }
  if (it->second.control == RunControl::kCancelled && control != RunControl::kCancelled) {
    return Fail(state_->Err(ErrorCode::kInvalidArgument, purpose, "the run was cancelled"));
  }
  it->second.control = control;
  return {};
}

Result<RunControl> MemoryStateStore::GetRunControl(std::string_view run_id) {
  auto run = GetRun(run_id);
  if (!run) return Fail(run.error());
  return run->control;
}

Result<int64_t> MemoryStateStore::UpsertJob(std::string_view run_id, std::string_view repository,
                                            std::string_view location) {
  std::lock_guard lock(state_->mutex);
  if (!state_->runs.contains(run_id)) {
    return Fail(state_->Err(ErrorCode::kNotFound,
                            "adding job " + std::string(repository) + " to run " +
                                std::string(run_id),
                            "no such run"));
  }
  for (auto& [id, job] : state_->jobs) {
    if (job.record.run_id == run_id && job.record.repository == repository) {
      job.record.location = std::string(location);
      return id;
    }
  }
  int64_t id = state_->next_job_id++;
  JobData& job = state_->jobs[id];
  job.record.id = id;
  job.record.run_id = std::string(run_id);
  job.record.repository = std::string(repository);
  job.record.location = std::string(location);
  return id;
}

Status MemoryStateStore::AdvanceJob(int64_t job_id, std::string_view step, JobState state,
                                    std::string_view reason, std::string_view details_json,
                                    StoreTime at) {
  std::string purpose = "advancing job " + std::to_string(job_id) + " to " + std::string(step) +
                        " (" + std::string(JobStateName(state)) + ")";
  if (state == JobState::kPending || state == JobState::kInterrupted) {
    return Fail(state_->Err(ErrorCode::kInvalidArgument, purpose,
                            "a step cannot move a job back to pending or interrupted"));
  }
  std::lock_guard lock(state_->mutex);
  auto job = state_->Job(job_id, purpose);
  if (!job) return Fail(job.error());
  return state_->AppendStep(**job, step, state, reason, details_json, at, purpose);
}

Result<JobRecord> MemoryStateStore::GetJob(int64_t job_id) {
  std::lock_guard lock(state_->mutex);
  auto job = state_->Job(job_id, "reading job " + std::to_string(job_id));
  if (!job) return Fail(job.error());
  return (*job)->record;
}

Result<std::vector<JobRecord>> MemoryStateStore::ListJobs(std::string_view run_id,
                                                          std::optional<JobState> state) {
  std::lock_guard lock(state_->mutex);
  return state_->JobsOf(run_id,
                        [&](const JobRecord& job) { return !state || job.state == *state; });
}

Result<std::vector<StepRecord>> MemoryStateStore::ListSteps(int64_t job_id) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->jobs.find(job_id);
  if (it == state_->jobs.end()) return std::vector<StepRecord>{};  // As a query finding none.
  return it->second.steps;
}

Result<std::map<JobState, int64_t>> MemoryStateStore::CountJobs(std::string_view run_id) {
  std::lock_guard lock(state_->mutex);
  std::map<JobState, int64_t> counts;
  for (const auto& job : state_->JobsOf(run_id, [](const JobRecord&) { return true; })) {
    counts[job.state]++;
  }
  return counts;
}

Result<std::vector<JobDuration>> MemoryStateStore::SlowestJobs(std::string_view run_id, int limit,
                                                               StoreTime now) {
  std::lock_guard lock(state_->mutex);
  now = Truncated(now);
  std::vector<JobDuration> slowest;
  for (const auto& job :
       state_->JobsOf(run_id, [](const JobRecord& job) { return job.started_at.has_value(); })) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        job.finished_at.value_or(now) - *job.started_at);
    slowest.push_back(JobDuration{job, elapsed});
  }
  std::stable_sort(slowest.begin(), slowest.end(), [](const JobDuration& a, const JobDuration& b) {
    return a.elapsed != b.elapsed ? a.elapsed > b.elapsed : a.job.id < b.job.id;
  });
  if (limit >= 0 && slowest.size() > static_cast<size_t>(limit)) {
    slowest.resize(static_cast<size_t>(limit));
  }
  return slowest;
}

Status MemoryStateStore::BeginAttempt(int64_t job_id, int number, StoreTime started_at) {
  std::lock_guard lock(state_->mutex);
  std::string purpose =
      "beginning attempt " + std::to_string(number) + " of job " + std::to_string(job_id);
  auto job = state_->Job(job_id, purpose);
  if (!job) return Fail(job.error());
  if (number < 1) {
    return Fail(state_->Err(ErrorCode::kInvalidArgument, purpose, "attempts are numbered from 1"));
  }
  (*job)->attempts[number] = AttemptRecord{number, Truncated(started_at), std::nullopt, ""};
  return {};
}

Status MemoryStateStore::FinishAttempt(int64_t job_id, int number, std::string_view outcome,
                                       StoreTime finished_at) {
  std::lock_guard lock(state_->mutex);
  std::string purpose =
      "finishing attempt " + std::to_string(number) + " of job " + std::to_string(job_id);
  auto job = state_->jobs.find(job_id);
  if (job == state_->jobs.end() || !job->second.attempts.contains(number)) {
    return Fail(state_->Err(ErrorCode::kNotFound, purpose, "the attempt was never begun"));
  }
  AttemptRecord& attempt = job->second.attempts[number];
  attempt.finished_at = Truncated(finished_at);
  attempt.outcome = std::string(outcome);
  return {};
}

Result<std::vector<AttemptRecord>> MemoryStateStore::ListAttempts(int64_t job_id) {
  std::lock_guard lock(state_->mutex);
  std::vector<AttemptRecord> attempts;
  auto job = state_->jobs.find(job_id);
  if (job == state_->jobs.end()) return attempts;
  for (const auto& [number, attempt] : job->second.attempts) attempts.push_back(attempt);
  return attempts;
}

Status MemoryStateStore::RecordModelStep(int64_t job_id, int attempt, std::string_view key,
                                         std::string_view response_json) {
  std::lock_guard lock(state_->mutex);
  auto job = state_->Job(
      job_id, "recording model step " + std::string(key) + " of job " + std::to_string(job_id));
  if (!job) return Fail(job.error());
  // The first response is the one the run acted on.
  (*job)->model_steps.try_emplace({attempt, std::string(key)}, std::string(response_json));
  return {};
}

Result<std::optional<std::string>> MemoryStateStore::FindModelStep(int64_t job_id, int attempt,
                                                                   std::string_view key) {
  std::lock_guard lock(state_->mutex);
  auto job = state_->jobs.find(job_id);
  if (job == state_->jobs.end()) return std::optional<std::string>();
  auto step = job->second.model_steps.find({attempt, std::string(key)});
  if (step == job->second.model_steps.end()) return std::optional<std::string>();
  return std::optional<std::string>(step->second);
}

Result<PublicationClaim> MemoryStateStore::ClaimPublication(int64_t job_id,
                                                            std::string_view head_branch) {
  std::lock_guard lock(state_->mutex);
  auto job = state_->Job(job_id, "claiming the publication of job " + std::to_string(job_id));
  if (!job) return Fail(job.error());
  auto& publication = (*job)->publication;
  if (publication) {
    return PublicationClaim{publication->published ? PublicationClaim::Outcome::kPublished
                                                   : PublicationClaim::Outcome::kInProgress,
                            publication->head_branch, publication->url, publication->number};
  }
  publication = Publication{std::string(head_branch), false, "", 0};
  return PublicationClaim{PublicationClaim::Outcome::kClaimed, std::string(head_branch), "", 0};
}

Status MemoryStateStore::RecordPublication(int64_t job_id, std::string_view url, int64_t number) {
  std::lock_guard lock(state_->mutex);
  auto job = state_->jobs.find(job_id);
  if (job == state_->jobs.end() || !job->second.publication) {
    return Fail(state_->Err(ErrorCode::kInvalidArgument,
                            "recording the publication of job " + std::to_string(job_id),
                            "the publication was never claimed"));
  }
  auto& publication = *job->second.publication;
  publication.published = true;
  publication.url = std::string(url);
  publication.number = number;
  return {};
}

Result<bool> MemoryStateStore::RecordPullRequest(const PullRequestRecord& pr) {
  std::lock_guard lock(state_->mutex);
  auto job = state_->Job(pr.job_id,
                         "recording the pull request of job " + std::to_string(pr.job_id));
  if (!job) return Fail(job.error());
  auto& stored = (*job)->pull_request;
  bool changed = !stored || stored->state != pr.state;
  stored = pr;
  stored->repository.clear();  // Filled in when listed, from the job.
  stored->updated_at = Truncated(pr.updated_at);
  if (changed) {
    int64_t seq = 1;
    for (const auto& event : state_->events) {
      if (event.job_id == pr.job_id) seq = std::max(seq, event.seq + 1);
    }
    state_->events.push_back(PrEvent{pr.job_id, seq, pr.state, stored->updated_at});
  }
  return changed;
}

Result<std::vector<PullRequestRecord>> MemoryStateStore::ListPullRequests(
    std::string_view run_id) {
  std::lock_guard lock(state_->mutex);
  std::vector<PullRequestRecord> prs;
  for (const auto& [id, job] : state_->jobs) {
    if (job.record.run_id != run_id || !job.pull_request) continue;
    prs.push_back(*job.pull_request);
    prs.back().repository = job.record.repository;
  }
  return prs;
}

Result<std::vector<PullRequestTransition>> MemoryStateStore::ListPullRequestTransitions(
    std::string_view run_id) {
  std::lock_guard lock(state_->mutex);
  std::vector<PrEvent> events;
  for (const auto& event : state_->events) {
    auto job = state_->jobs.find(event.job_id);
    if (job != state_->jobs.end() && job->second.record.run_id == run_id) events.push_back(event);
  }
  std::stable_sort(events.begin(), events.end(), [](const PrEvent& a, const PrEvent& b) {
    return std::tie(a.at, a.job_id, a.seq) < std::tie(b.at, b.job_id, b.seq);
  });
  std::vector<PullRequestTransition> transitions;
  for (const auto& event : events) {
    transitions.push_back({event.job_id, state_->jobs.at(event.job_id).record.repository,
                           event.state, event.at});
  }
  return transitions;
}

Result<std::vector<JobRecord>> MemoryStateStore::JobsToResume(std::string_view run_id) {
  std::lock_guard lock(state_->mutex);
  return state_->JobsOf(run_id, [](const JobRecord& job) { return !IsTerminal(job.state); });
}

Result<std::vector<JobRecord>> MemoryStateStore::MarkInterrupted(std::string_view run_id,
                                                                 StoreTime at) {
  std::lock_guard lock(state_->mutex);
  std::string purpose = "marking the interrupted jobs of run " + std::string(run_id);
  std::vector<JobRecord> jobs;
  for (auto& [id, job] : state_->jobs) {
    if (job.record.run_id != run_id || job.record.state != JobState::kRunning) continue;
    std::string step = job.record.step;
    std::string details = job.record.details_json;
    auto appended = state_->AppendStep(job, step, JobState::kInterrupted, "interrupted", details,
                                       at, purpose);
    if (!appended) return Fail(appended.error());
    jobs.push_back(job.record);
  }
  return jobs;
}

Result<std::vector<JobRecord>> MemoryStateStore::RetryJobs(std::string_view run_id, JobState state,
                                                           StoreTime at) {
  if (!IsTerminal(state) || state == JobState::kPublished) {
    return Fail(ErrorCode::kInvalidArgument,
                "only failed, skipped or not-applicable jobs can be retried, not " +
                    std::string(JobStateName(state)));
  }
  std::lock_guard lock(state_->mutex);
  at = Truncated(at);
  std::vector<JobRecord> jobs;
  for (auto& [id, job] : state_->jobs) {
    if (job.record.run_id != run_id || job.record.state != state) continue;
    JobRecord before = job.record;
    int64_t seq = job.steps.empty() ? 1 : job.steps.back().seq + 1;
    job.steps.push_back(StepRecord{seq, "retry", JobState::kPending, "retry requested", "", at});
    job.record.state = JobState::kPending;
    job.record.step.clear();
    job.record.reason.clear();
    job.record.details_json.clear();
    job.record.finished_at.reset();
    job.record.updated_at = at;
    job.model_steps.clear();
    if (job.publication && !job.publication->published) job.publication.reset();
    // What the SQLite store returns: the row as read, with the fields the retry reset.
    before.state = JobState::kPending;
    before.reason.clear();
    before.finished_at.reset();
    jobs.push_back(std::move(before));
  }
  return jobs;
}

}  // namespace drover::fleet
