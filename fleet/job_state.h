// A repository job's life as types: the step it is at (with the attempt number beside it), how
// it ended, what failed, each named once for job.json and the state store, and the machine that
// allows only the moves the runner makes. Thread-compatible: value types and pure functions; a
// JobMachine belongs to the one thread that runs its job.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "store/state_store.h"

namespace drover::fleet {

// How a job ended. Named by the state store's JobStateName, the one spelling of an end.
enum class JobStatus {
  kPublished,      // Verified and the PR is written/opened.
  kFailed,         // Clone, agent, final check or publish failed; `reason` says which.
  kSkipped,        // Baseline red (on_red: skip) or the repository opted out.
  kNotApplicable,  // The agent showed the migration does not apply here.
};
inline constexpr std::array kJobStatuses = {JobStatus::kPublished, JobStatus::kFailed,
                                            JobStatus::kSkipped, JobStatus::kNotApplicable};
std::string_view JobStatusName(JobStatus status);  // "published", "failed", ...
// kParse naming the field ("status") and the name when it is not an end.
Result<JobStatus> JobStatusFromName(std::string_view name);
JobState StoreState(JobStatus status);  // The store's terminal state for this end.

// The steps the runner records, in the order a job meets them. Names (JobStepName) are what
// job.json's "step" and the store's job_steps say.
enum class JobStep {
  kNotStarted,  // "not started": the run skipped the job before it began (its budget spent).
  kStarted,     // "started": no step yet; a job that ends here ended before preparing.
  kPreparing,   // "preparing": the mirror is fetched and a fresh working copy made.
  kPrepared,    // "prepared": then the checks are chosen and the dependency set-up runs.
  kBaseline,    // "baseline": the checks on the untouched tree (cached per commit).
  kWaiting,     // "waiting": attempt k waits for an agent slot.
  kAgent,       // "agent": attempt k's agent runs.
  kVerifying,   // "verifying": the runner's final check of attempt k's change.
  kVerified,    // "verified": checks, diff policy and test evidence passed.
  kJudging,     // "judging": the judge model reviews attempt k's verified change.
  kPublishing,  // "publishing": the branch is pushed and the PR opened or updated.
  kPublished,   // "published": the PR is recorded.
};
inline constexpr std::array kJobSteps = {
    JobStep::kNotStarted, JobStep::kStarted, JobStep::kPreparing,  JobStep::kPrepared,
    JobStep::kBaseline,   JobStep::kWaiting, JobStep::kAgent,      JobStep::kVerifying,
    JobStep::kVerified,   JobStep::kJudging, JobStep::kPublishing, JobStep::kPublished};
std::string_view JobStepName(JobStep step);
// kParse naming the field ("step") and the name when no step has it.
Result<JobStep> JobStepFromName(std::string_view name);

// What failed, for a failed job: decided where the failure happened, never read from text.
enum class FailureKind {
  kInfrastructure,   // "infrastructure": clone, worktree, set-up, gateway, forge, publish.
  kVerifierFailed,   // "verifier_failed": the final check (or the agent's own checks) failed.
  kDiffPolicy,       // "diff_policy": an empty, uncommittable or refused change.
  kJudgeVeto,        // "judge_veto": the judge model vetoed the verified change.
  kBudgetExhausted,  // "budget_exhausted": the attempt's limits, stuck, or the token budget.
  kEditErrors,       // "edit_errors": limits reached while most tool calls failed.
  kModelError,       // "model_error": the model failed or kept sending unusable replies.
};
inline constexpr std::array kFailureKinds = {
    FailureKind::kInfrastructure, FailureKind::kVerifierFailed,  FailureKind::kDiffPolicy,
    FailureKind::kJudgeVeto,      FailureKind::kBudgetExhausted, FailureKind::kEditErrors,
    FailureKind::kModelError};
std::string_view FailureKindName(FailureKind kind);
// kParse naming the field ("failure_kind") and the name when no kind has it.
Result<FailureKind> FailureKindFromName(std::string_view name);

// The legal moves of one job:
//   started -> preparing -> prepared -> baseline -> waiting(1) -> agent(1) -> verifying(1)
//     -> verified(1) [-> judging(1)] -> publishing -> published
//   agent(k), verifying(k), judging(k) or waiting(k) -> waiting(k+1), up to the last attempt
// and its ends: failed from any step before published; skipped when prepared (opted out, the
// set-up failed), at the baseline (red) or at an agent (the run's budget); not_applicable at
// an agent; published once published. Nothing moves after the end. "not started" is never
// entered: it names the step of a job the run skipped before giving it a machine.
class JobMachine {
 public:
  // REQUIRES: max_attempts >= 1.
  explicit JobMachine(int max_attempts) : max_attempts_(max_attempts) {}

  JobStep step() const { return step_; }
  int attempt() const { return attempt_; }  // 0 before the first; the last one after it.
  std::optional<JobStatus> end() const { return end_; }
  // What the store and job.json say now: running until the end, then the end's state.
  JobState state() const { return end_ ? StoreState(*end_) : JobState::kRunning; }

  // Moves to `step` of attempt `attempt` (0 before the attempts; for waiting, the next
  // attempt; otherwise the current one). kInvalidArgument naming both positions when the move
  // is not in the table, the attempt is not the one expected, or the job has ended; nothing
  // changes then.
  Status Advance(JobStep step, int attempt);
  // Ends the job. kInvalidArgument when `status` may not end the job at its step, or it has
  // ended already; nothing changes then.
  Status End(JobStatus status);

 private:
  int max_attempts_;
  JobStep step_ = JobStep::kStarted;
  int attempt_ = 0;
  std::optional<JobStatus> end_;
};

}  // namespace drover::fleet
