#include "fleet/job_state.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

// Every enumerator has one name, the name reads back as it, and no two share one.
template <typename Enum, size_t N, typename NameFn, typename FromFn>
void ExpectNamesRoundTrip(const std::array<Enum, N>& all, NameFn name, FromFn from) {
  std::set<std::string> seen;
  for (Enum value : all) {
    std::string spelled(name(value));
    EXPECT_NE(spelled, "unknown");
    EXPECT_TRUE(seen.insert(spelled).second) << spelled << " names two values";
    auto back = from(spelled);
    ASSERT_OK(back);
    EXPECT_EQ(*back, value) << spelled;
  }
}

TEST(JobStateNames, EveryStepRoundTripsWithItsFileSpelling) {
  ExpectNamesRoundTrip(kJobSteps, JobStepName, JobStepFromName);
  // What job.json and state.db already hold, spelled as they were.
  std::vector<std::string> spelled;
  for (JobStep step : kJobSteps) spelled.emplace_back(JobStepName(step));
  EXPECT_EQ(spelled, (std::vector<std::string>{"not started", "started", "preparing", "prepared",
                                               "baseline", "waiting", "agent", "verifying",
                                               "verified", "judging", "publishing", "published"}));
}

TEST(JobStateNames, EveryFailureKindRoundTripsWithItsFileSpelling) {
  ExpectNamesRoundTrip(kFailureKinds, FailureKindName, FailureKindFromName);
  std::vector<std::string> spelled;
  for (FailureKind kind : kFailureKinds) spelled.emplace_back(FailureKindName(kind));
  EXPECT_EQ(spelled, (std::vector<std::string>{"infrastructure", "verifier_failed", "diff_policy",
                                               "judge_veto", "budget_exhausted", "edit_errors",
                                               "model_error"}));
}

TEST(JobStateNames, EveryEndRoundTripsAndIsTheStoresTerminalState) {
  ExpectNamesRoundTrip(kJobStatuses, JobStatusName, JobStatusFromName);
  for (JobStatus status : kJobStatuses) {
    EXPECT_TRUE(IsTerminal(StoreState(status))) << JobStatusName(status);
    EXPECT_EQ(JobStatusName(status), JobStateName(StoreState(status)));
  }
  EXPECT_EQ(JobStatusName(JobStatus::kNotApplicable), "not_applicable");
}

TEST(JobStateNames, AnUnknownNameIsAnErrorNamingTheField) {
  auto step = JobStepFromName("compiling");
  ASSERT_FALSE(step.has_value());
  EXPECT_EQ(step.error().code, ErrorCode::kParse);
  EXPECT_NE(step.error().message.find("'step'"), std::string::npos) << step.error().message;
  EXPECT_NE(step.error().message.find("compiling"), std::string::npos);

  auto kind = FailureKindFromName("flaky");
  ASSERT_FALSE(kind.has_value());
  EXPECT_NE(kind.error().message.find("'failure_kind'"), std::string::npos);

  // A running job's job.json says "running": not an end.
  auto status = JobStatusFromName("running");
  ASSERT_FALSE(status.has_value());
  EXPECT_NE(status.error().message.find("'status'"), std::string::npos);
  EXPECT_FALSE(JobStepFromName("").has_value());
}

// Drives `machine` through `path`, expecting each move to be allowed.
void Walk(JobMachine& machine, const std::vector<std::pair<JobStep, int>>& path) {
  for (auto [step, attempt] : path) {
    auto moved = machine.Advance(step, attempt);
    ASSERT_TRUE(moved.has_value()) << moved.error().message;
    EXPECT_EQ(machine.step(), step);
    EXPECT_EQ(machine.attempt(), attempt);
    EXPECT_EQ(machine.state(), JobState::kRunning);
  }
}

TEST(JobMachine, TheRunnersPathToPublished) {
  JobMachine machine(3);
  EXPECT_EQ(machine.step(), JobStep::kStarted);
  EXPECT_EQ(machine.attempt(), 0);
  Walk(machine, {{JobStep::kPreparing, 0},
                 {JobStep::kPrepared, 0},
                 {JobStep::kBaseline, 0},
                 {JobStep::kWaiting, 1},
                 {JobStep::kAgent, 1},
                 {JobStep::kVerifying, 1},  // The final check failed:
                 {JobStep::kWaiting, 2},    // a second attempt,
                 {JobStep::kAgent, 2},      // whose agent failed:
                 {JobStep::kWaiting, 3},    // a third,
                 {JobStep::kAgent, 3},
                 {JobStep::kVerifying, 3},
                 {JobStep::kVerified, 3},
                 {JobStep::kJudging, 3},
                 {JobStep::kPublishing, 3},
                 {JobStep::kPublished, 3}});
  ASSERT_OK(machine.End(JobStatus::kPublished));
  EXPECT_EQ(machine.end(), JobStatus::kPublished);
  EXPECT_EQ(machine.state(), JobState::kPublished);
}

TEST(JobMachine, AVetoAndAnAttemptThatNeverStartedLeadToTheNextAttempt) {
  JobMachine machine(3);
  Walk(machine, {{JobStep::kPreparing, 0},
                 {JobStep::kPrepared, 0},
                 {JobStep::kBaseline, 0},
                 {JobStep::kWaiting, 1},
                 {JobStep::kWaiting, 2},
                 {JobStep::kAgent, 2},
                 {JobStep::kVerifying, 2},
                 {JobStep::kVerified, 2},
                 {JobStep::kJudging, 2},
                 {JobStep::kWaiting, 3},
                 {JobStep::kAgent, 3},
                 {JobStep::kVerifying, 3},
                 {JobStep::kVerified, 3},
                 {JobStep::kPublishing, 3}});
  ASSERT_OK(machine.End(JobStatus::kFailed));  // The push was refused.
  EXPECT_EQ(machine.state(), JobState::kFailed);
}

TEST(JobMachine, EachIllegalMoveIsRefusedAndChangesNothing) {
  // From each position reached on the runner's path, every move not in the table.
  const std::vector<std::pair<JobStep, int>> path = {
      {JobStep::kStarted, 0},    {JobStep::kPreparing, 0}, {JobStep::kPrepared, 0},
      {JobStep::kBaseline, 0},   {JobStep::kWaiting, 1},   {JobStep::kAgent, 1},
      {JobStep::kVerifying, 1},  {JobStep::kVerified, 1},  {JobStep::kJudging, 1},
      {JobStep::kPublishing, 1}, {JobStep::kPublished, 1}};
  const std::set<std::pair<JobStep, JobStep>> legal = {
      {JobStep::kStarted, JobStep::kPreparing},   {JobStep::kPreparing, JobStep::kPrepared},
      {JobStep::kPrepared, JobStep::kBaseline},   {JobStep::kBaseline, JobStep::kWaiting},
      {JobStep::kWaiting, JobStep::kAgent},       {JobStep::kWaiting, JobStep::kWaiting},
      {JobStep::kAgent, JobStep::kVerifying},     {JobStep::kAgent, JobStep::kWaiting},
      {JobStep::kVerifying, JobStep::kVerified},  {JobStep::kVerifying, JobStep::kWaiting},
      {JobStep::kVerified, JobStep::kJudging},    {JobStep::kVerified, JobStep::kPublishing},
      {JobStep::kJudging, JobStep::kPublishing},  {JobStep::kJudging, JobStep::kWaiting},
      {JobStep::kPublishing, JobStep::kPublished}};
  int refused = 0;
  for (size_t at = 0; at < path.size(); ++at) {
    for (JobStep to : kJobSteps) {
      if (legal.contains({path[at].first, to})) continue;
      JobMachine machine(3);
      Walk(machine, std::vector(path.begin() + 1, path.begin() + static_cast<long>(at) + 1));
      for (int attempt : {0, 1, 2}) {
        auto moved = machine.Advance(to, attempt);
        EXPECT_FALSE(moved.has_value())
            << JobStepName(path[at].first) << " -> " << JobStepName(to) << " " << attempt;
        if (!moved) {
          EXPECT_EQ(moved.error().code, ErrorCode::kInvalidArgument);
        }
        ++refused;
      }
      EXPECT_EQ(machine.step(), path[at].first);
      EXPECT_EQ(machine.attempt(), path[at].second);
    }
  }
  EXPECT_GT(refused, 100);
}

TEST(JobMachine, AttemptsMoveByOneUpToTheLast) {
  JobMachine machine(2);
  Walk(machine, {{JobStep::kPreparing, 0}, {JobStep::kPrepared, 0}, {JobStep::kBaseline, 0}});
  EXPECT_FALSE(machine.Advance(JobStep::kWaiting, 2).has_value());  // Skips attempt 1.
  EXPECT_FALSE(machine.Advance(JobStep::kWaiting, 0).has_value());
  Walk(machine, {{JobStep::kWaiting, 1}, {JobStep::kAgent, 1}});
  EXPECT_FALSE(machine.Advance(JobStep::kVerifying, 2).has_value());  // Not attempt 1's.
  EXPECT_FALSE(machine.Advance(JobStep::kWaiting, 3).has_value());
  EXPECT_FALSE(machine.Advance(JobStep::kWaiting, 1).has_value());  // Attempt 1 again.
  Walk(machine, {{JobStep::kWaiting, 2}, {JobStep::kAgent, 2}});
  auto beyond = machine.Advance(JobStep::kWaiting, 3);  // Two attempts only.
  ASSERT_FALSE(beyond.has_value());
  EXPECT_NE(beyond.error().message.find("at most 2 attempts"), std::string::npos)
      << beyond.error().message;
  EXPECT_EQ(machine.attempt(), 2);
}

TEST(JobMachine, EndsOnlyFromTheirPlacesAndOnce) {
  struct Case {
    std::vector<std::pair<JobStep, int>> path;
    JobStatus end;
    bool allowed;
  };
  const std::vector<std::pair<JobStep, int>> to_prepared = {{JobStep::kPreparing, 0},
                                                            {JobStep::kPrepared, 0}};
  auto with = [&](std::vector<std::pair<JobStep, int>> more) {
    auto path = to_prepared;
    path.insert(path.end(), more.begin(), more.end());
    return path;
  };
  const auto to_agent =
      with({{JobStep::kBaseline, 0}, {JobStep::kWaiting, 1}, {JobStep::kAgent, 1}});
  const auto to_published = with({{JobStep::kBaseline, 0},
                                  {JobStep::kWaiting, 1},
                                  {JobStep::kAgent, 1},
                                  {JobStep::kVerifying, 1},
                                  {JobStep::kVerified, 1},
                                  {JobStep::kPublishing, 1},
                                  {JobStep::kPublished, 1}});
  const std::vector<Case> cases = {
      {{}, JobStatus::kFailed, true},  // Its directory could not be made.
      {{}, JobStatus::kSkipped, false},
      {{}, JobStatus::kPublished, false},
      {to_prepared, JobStatus::kSkipped, true},  // Opted out; the set-up failed.
      {to_prepared, JobStatus::kNotApplicable, false},
      {with({{JobStep::kBaseline, 0}}), JobStatus::kSkipped, true},  // Red baseline.
      {with({{JobStep::kBaseline, 0}}), JobStatus::kPublished, false},
      {to_agent, JobStatus::kNotApplicable, true},
      {to_agent, JobStatus::kSkipped, true},  // The run's budget.
      {to_agent, JobStatus::kFailed, true},
      {to_agent, JobStatus::kPublished, false},
      {with({{JobStep::kBaseline, 0}, {JobStep::kWaiting, 1}}), JobStatus::kNotApplicable, false},
      {to_published, JobStatus::kPublished, true},
      {to_published, JobStatus::kFailed, false},
      {to_published, JobStatus::kSkipped, false},
  };
  for (const auto& c : cases) {
    JobMachine machine(1);
    Walk(machine, c.path);
    auto ended = machine.End(c.end);
    EXPECT_EQ(ended.has_value(), c.allowed)
        << JobStatusName(c.end) << " at " << JobStepName(machine.step());
    if (!c.allowed) {
      EXPECT_FALSE(machine.end().has_value());
      EXPECT_EQ(machine.state(), JobState::kRunning);
      continue;
    }
    EXPECT_EQ(machine.state(), StoreState(c.end));
    // Once ended, nothing moves and nothing ends it again.
    EXPECT_FALSE(machine.End(JobStatus::kFailed).has_value());
    EXPECT_FALSE(machine.Advance(JobStep::kPreparing, 0).has_value());
    EXPECT_FALSE(machine.Advance(JobStep::kWaiting, machine.attempt() + 1).has_value());
    EXPECT_EQ(machine.end(), c.end);
  }
}

}  // namespace
}  // namespace drover::fleet
