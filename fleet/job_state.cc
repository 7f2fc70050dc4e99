#include "fleet/job_state.h"

#include <string>

namespace drover::fleet {
namespace {

// How the attempt number changes on a move: kept, or the next attempt begins.
enum class AttemptChange { kSame, kNext };

struct Move {
  JobStep from;
  JobStep to;
  AttemptChange attempt;
};

// Every move the runner makes; anything else is refused.
constexpr Move kMoves[] = {
    {JobStep::kStarted, JobStep::kPreparing, AttemptChange::kSame},
    {JobStep::kPreparing, JobStep::kPrepared, AttemptChange::kSame},
    {JobStep::kPrepared, JobStep::kBaseline, AttemptChange::kSame},
    {JobStep::kBaseline, JobStep::kWaiting, AttemptChange::kNext},
    {JobStep::kWaiting, JobStep::kAgent, AttemptChange::kSame},
    // The attempt ended before its agent ran (its files could not be written).
    {JobStep::kWaiting, JobStep::kWaiting, AttemptChange::kNext},
    {JobStep::kAgent, JobStep::kVerifying, AttemptChange::kSame},
    {JobStep::kAgent, JobStep::kWaiting, AttemptChange::kNext},
    {JobStep::kVerifying, JobStep::kVerified, AttemptChange::kSame},
    {JobStep::kVerifying, JobStep::kWaiting, AttemptChange::kNext},
    {JobStep::kVerified, JobStep::kJudging, AttemptChange::kSame},
    {JobStep::kVerified, JobStep::kPublishing, AttemptChange::kSame},
    {JobStep::kJudging, JobStep::kPublishing, AttemptChange::kSame},
    {JobStep::kJudging, JobStep::kWaiting, AttemptChange::kNext},
    {JobStep::kPublishing, JobStep::kPublished, AttemptChange::kSame},
};

bool MayEnd(JobStep step, JobStatus status) {
  switch (status) {
    case JobStatus::kFailed: return step != JobStep::kPublished && step != JobStep::kNotStarted;
    case JobStatus::kSkipped:
      return step == JobStep::kPrepared || step == JobStep::kBaseline || step == JobStep::kAgent;
    case JobStatus::kNotApplicable: return step == JobStep::kAgent;
    case JobStatus::kPublished: return step == JobStep::kPublished;
  }
  return false;
}

std::string Position(JobStep step, int attempt) {
  std::string text(JobStepName(step));
  if (attempt > 0) text += " (attempt " + std::to_string(attempt) + ")";
  return text;
}

}  // namespace

std::string_view JobStatusName(JobStatus status) {
  return JobStateName(StoreState(status));
}

Result<JobStatus> JobStatusFromName(std::string_view name) {
  for (JobStatus status : kJobStatuses) {
    if (JobStatusName(status) == name) return status;
  }
  return Fail(ErrorCode::kParse, "field 'status': '" + std::string(name) +
                                     "' is not a job's end (published, failed, skipped, "
                                     "not_applicable)");
}

JobState StoreState(JobStatus status) {
  switch (status) {
    case JobStatus::kPublished: return JobState::kPublished;
    case JobStatus::kFailed: return JobState::kFailed;
    case JobStatus::kSkipped: return JobState::kSkipped;
    case JobStatus::kNotApplicable: return JobState::kNotApplicable;
  }
  return JobState::kFailed;
}

std::string_view JobStepName(JobStep step) {
  switch (step) {
    case JobStep::kNotStarted: return "not started";
    case JobStep::kStarted: return "started";
    case JobStep::kPreparing: return "preparing";
    case JobStep::kPrepared: return "prepared";
    case JobStep::kBaseline: return "baseline";
    case JobStep::kWaiting: return "waiting";
    case JobStep::kAgent: return "agent";
    case JobStep::kVerifying: return "verifying";
    case JobStep::kVerified: return "verified";
    case JobStep::kJudging: return "judging";
    case JobStep::kPublishing: return "publishing";
    case JobStep::kPublished: return "published";
  }
  return "unknown";
}

Result<JobStep> JobStepFromName(std::string_view name) {
  for (JobStep step : kJobSteps) {
    if (JobStepName(step) == name) return step;
  }
  return Fail(ErrorCode::kParse, "field 'step': '" + std::string(name) + "' is not a job step");
}

std::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kInfrastructure: return "infrastructure";
    case FailureKind::kVerifierFailed: return "verifier_failed";
    case FailureKind::kDiffPolicy: return "diff_policy";
    case FailureKind::kJudgeVeto: return "judge_veto";
    case FailureKind::kBudgetExhausted: return "budget_exhausted";
    case FailureKind::kEditErrors: return "edit_errors";
    case FailureKind::kModelError: return "model_error";
  }
  return "unknown";
}

Result<FailureKind> FailureKindFromName(std::string_view name) {
  for (FailureKind kind : kFailureKinds) {
    if (FailureKindName(kind) == name) return kind;
  }
  return Fail(ErrorCode::kParse,
              "field 'failure_kind': '" + std::string(name) + "' is not a failure kind");
}

Status JobMachine::Advance(JobStep step, int attempt) {
  std::string move = Position(step_, attempt_) + " -> " + Position(step, attempt);
  if (end_) {
    return Fail(ErrorCode::kInvalidArgument, "job step " + move + " refused: the job has ended (" +
                                                 std::string(JobStatusName(*end_)) + ")");
  }
  for (const Move& allowed : kMoves) {
    if (allowed.from != step_ || allowed.to != step) continue;
    int expected = allowed.attempt == AttemptChange::kNext ? attempt_ + 1 : attempt_;
    if (attempt != expected) {
      return Fail(ErrorCode::kInvalidArgument,
                  "job step " + move + " refused: expected " + Position(step, expected));
    }
    if (attempt > max_attempts_) {
      return Fail(ErrorCode::kInvalidArgument, "job step " + move + " refused: at most " +
                                                   std::to_string(max_attempts_) + " attempts");
    }
    step_ = step;
    attempt_ = attempt;
    return {};
  }
  return Fail(ErrorCode::kInvalidArgument, "job step " + move + " refused: not a legal move");
}

Status JobMachine::End(JobStatus status) {
  std::string what = std::string(JobStatusName(status)) + " at " + Position(step_, attempt_);
  if (end_) {
    return Fail(ErrorCode::kInvalidArgument, "job end " + what + " refused: it ended already (" +
                                                 std::string(JobStatusName(*end_)) + ")");
  }
  if (!MayEnd(step_, status)) {
    return Fail(ErrorCode::kInvalidArgument, "job end " + what + " refused: not a legal end there");
  }
  end_ = status;
  return {};
}

}  // namespace drover::fleet
