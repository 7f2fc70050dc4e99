// The runner's decisions, with its collaborators faked (fleet/run_deps.h): the agent and the
// verifiers are scripted processes, the state store lives in memory, the clock is manual and
// the model upstream is never reached. Real git repositories and the local forge, no sandbox.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "core/clock.h"
#include "core/fs.h"
#include "core/http.h"
#include "fleet/run_deps.h"
#include "fleet/runner.h"
#include "store/memory_state_store.h"
#include "tests/testing/model_server.h"
#include "tests/testing/scripted_processes.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

namespace fs = std::filesystem;

// The failure kind as job.json spells it ("" when the job did not fail).
std::string KindOf(const JobReport& job) {
  return job.failure_kind ? std::string(FailureKindName(*job.failure_kind)) : "";
}
using drover::testing::CommandReply;
using drover::testing::ScriptedProcessRunner;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

constexpr char kApiKey[] = "sk-test-0123456789abcdef";

// The model upstream: no test here reaches it (the scripted agent never calls the gateway).
class UnreachableHttpClient : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& request) override {
    ++calls;
    return Fail(ErrorCode::kUnavailable, "no upstream in this test: " + request.url);
  }
  std::atomic<int> calls{0};
};

// The local forge, counting what the runner asks of it.
class CountingForge : public Forge {
 public:
  explicit CountingForge(GitRepos& git) : local_(git) {}
  std::string_view Name() const override { return "local"; }
  Result<PullRequest> OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) override {
    auto pr = local_.OpenOrUpdate(draft, wt);
    if (pr) (pr->updated ? updated : opened)++;
    return pr;
  }
  inline static std::atomic<int> opened{0};
  inline static std::atomic<int> updated{0};

 private:
  LocalForge local_;
};

agent::AgentOutcome Finished(std::string summary = "Replaced old by new.") {
  agent::AgentOutcome outcome;
  outcome.status = agent::AgentStatus::kFinished;
  outcome.summary = std::move(summary);
  outcome.turns = 3;
  return outcome;
}

agent::AgentOutcome Failed(std::string reason, std::string model_error = "") {
  agent::AgentOutcome outcome;
  outcome.status = agent::AgentStatus::kFailed;
  outcome.reason = std::move(reason);
  outcome.model_error = std::move(model_error);
  outcome.turns = 2;
  return outcome;
}

// Spec front matter lines are added before the closing `---`.
std::string Spec(const std::string& extra = "") {
  return "---\nid: m\ntitle: Old to new\nverifiers:\n  - name: check\n    command: check\n" +
         extra + "---\nReplace old by new.\n";
}

class RunnerDecisions : public ::testing::Test {
 protected:
  void SetUp() override {
    CountingForge::opened = 0;
    CountingForge::updated = 0;
    AddRepo("app");
    // By default: the check passes, and the agent replaces "old" by "new".
    processes_.OnCommand("check", std::vector<CommandReply>{{0, "all good\n"}});
    processes_.SetAgent([](const agent::AgentTask& task) -> std::optional<agent::AgentOutcome> {
      WriteTestFile(task.workspace, "app.txt", "new\n");
      return Finished();
    });
  }

  fs::path AddRepo(const std::string& name) {
    fs::path repo = dir_ / name;
    WriteTestFile(repo, "app.txt", "old\n");
    drover::testing::InitGitRepo(repo);
    repos_.push_back(repo);
    return repo;
  }

  RunOptions Options() const {
    RunOptions options;
    options.state_dir = dir_ / "state";
    options.run_id = "r";
    options.agents = 1;
    options.builds = 1;
    options.max_in_flight = 1;
    options.drover_binary = "drover";  // Never started: the scripted runner plays the agent.
    options.parent_env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
    options.sandbox = SandboxMode::kNone;
    options.model.provider = agent::Provider::kOpenAiChat;
    options.model.model = "gpt-test";
    options.model.upstreams = {
        UpstreamConfig{agent::Provider::kOpenAiChat, "http://127.0.0.1:9/v1", kApiKey, "gpt-test"}};
    return options;
  }

  RunInput Input(const std::string& spec_text) const {
    RunInput input;
    auto spec = ParseMigrationSpec(spec_text, "migration.md");
    EXPECT_TRUE(spec.has_value()) << spec.error().ToString();
    if (spec) input.spec = *spec;
    input.spec_text = spec_text;
    std::string lines;
    for (const auto& repo : repos_) lines += repo.string() + "\n";
    auto targets = ParseTargets(lines, dir_.path(), "repos");
    EXPECT_TRUE(targets.has_value()) << targets.error().ToString();
    if (targets) input.targets = *targets;
    return input;
  }

  RunDeps Deps(StateStore& store) {
    return RunDeps{
        .store = store,
        .http = http_,
        .processes = processes_,
        .clock = clock_,
        .make_git = {},
        .make_forge = [](const ForgeSetup&, GitRepos& git, HttpClient&,
                         ForgeGovernor&) -> std::unique_ptr<Forge> {
          return std::make_unique<CountingForge>(git);
        },
    };
  }

  Result<RunReport> Run(const std::string& spec_text = Spec(), RunOptions options = {}) {
    if (options.state_dir.empty()) options = Options();
    RunObserver quiet;
    return RunMigration(options, Input(spec_text), Deps(store_), quiet);
  }

  // The job's one report, after a run that must succeed.
  JobReport RunOne(const std::string& spec_text = Spec()) {
    auto report = Run(spec_text);
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    if (!report || report->jobs.size() != 1) {
      ADD_FAILURE() << "expected one job";
      return {};
    }
    return report->jobs[0];
  }

  RunDeps DepsWithHttp(StateStore& store, HttpClient& http) {
    RunDeps deps = Deps(store);
    return RunDeps{deps.store, http, deps.processes, deps.clock, deps.make_git, deps.make_forge};
  }

  std::vector<std::string> StepsOf(const std::string& repository, StateStore& store) {
    std::vector<std::string> steps;
    auto jobs = store.ListJobs("r", std::nullopt);
    if (!jobs) return steps;
    for (const auto& job : *jobs) {
      if (job.repository != repository) continue;
      auto log = store.ListSteps(job.id);
      if (!log) continue;
      for (const auto& step : *log) steps.push_back(step.step);
    }
    return steps;
  }

  // Whether `branch` exists in the target repository `repo`.
  static bool HasBranch(const fs::path& repo, const std::string& branch) {
    return !drover::testing::Sh("git -C '" + repo.string() + "' branch --list '" + branch + "'")
                .empty();
  }

  TempDir dir_;
  std::vector<fs::path> repos_;
  MemoryStateStore store_;
  UnreachableHttpClient http_;
  ScriptedProcessRunner processes_;
  ManualClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000))};
};

TEST_F(RunnerDecisions, AVerifiedChangeIsPublished) {
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kPublished) << job.reason;
  EXPECT_EQ(job.step, JobStep::kPublished);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.files_changed, 1);
  EXPECT_TRUE(fs::exists(job.job_dir / "pr.md"));
  EXPECT_TRUE(HasBranch(repos_[0], "drover/m"));
  EXPECT_EQ(CountingForge::opened, 1);
  EXPECT_EQ(processes_.Calls("check"), 2);  // The baseline, then the runner's final check.
  EXPECT_EQ(processes_.Calls("agent"), 1);
  EXPECT_TRUE(processes_.Unscripted().empty());
  EXPECT_EQ(http_.calls, 0);
}

TEST_F(RunnerDecisions, EveryStepIsInTheStoreInOrder) {
  JobReport job = RunOne();
  ASSERT_EQ(job.status, JobStatus::kPublished) << job.reason;
  std::vector<std::string> steps = StepsOf("app", store_);
  std::vector<std::string> expected = {"preparing", "prepared", "baseline", "waiting", "agent",
                                       "verifying", "verified", "publishing", "published"};
  // The last entry is the terminal record of the last step.
  ASSERT_EQ(steps.size(), expected.size() + 1) << ::testing::PrintToString(steps);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(steps[i], expected[i]);
  auto jobs = store_.ListJobs("r", JobState::kPublished);
  ASSERT_OK(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  auto prs = store_.ListPullRequests("r");
  ASSERT_OK(prs);
  ASSERT_EQ(prs->size(), 1u);
  EXPECT_EQ((*prs)[0].url, job.pr_url);
  EXPECT_EQ((*prs)[0].head_branch, "drover/m");
}

TEST_F(RunnerDecisions, StoredTimesComeFromTheRunsClock) {
  const auto start = clock_.Now();
  RunOptions options = Options();
  options.run_id.clear();
  auto report = Run(Spec(), options);
  ASSERT_OK(report);
  EXPECT_EQ(report->run_id, "m-20270115T080000Z");  // 1,800,000,000 s after the epoch.
  auto run = store_.GetRun(report->run_id);
  ASSERT_OK(run);
  EXPECT_EQ(run->created_at, start);
  auto prs = store_.ListPullRequests(report->run_id);
  ASSERT_OK(prs);
  ASSERT_EQ(prs->size(), 1u);
  EXPECT_EQ((*prs)[0].updated_at, start);
  EXPECT_EQ(report->jobs[0].seconds, 0);  // The manual clock did not move.
}

TEST_F(RunnerDecisions, ARedBaselineSkipsTheRepository) {
  processes_.OnCommand("check", std::vector<CommandReply>{{1, "error: broken already\n"}});
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kSkipped);
  EXPECT_TRUE(job.reason.starts_with("baseline red before any change")) << job.reason;
  EXPECT_EQ(KindOf(job), "");
  EXPECT_EQ(processes_.Calls("agent"), 0);
  EXPECT_EQ(processes_.Calls("check"), 2);  // Run again at once, as it might be flaky.
}

TEST_F(RunnerDecisions, ARedBaselineWithNoNewFailuresLetsTheAgentWork) {
  processes_.OnCommand("check", std::vector<CommandReply>{{1, "error: broken already\n"}});
  JobReport job = RunOne(Spec("baseline:\n  on_red: no_new_failures\n"));
  EXPECT_EQ(processes_.Calls("agent"), 1);
  EXPECT_EQ(job.status, JobStatus::kPublished) << job.reason;
}

TEST_F(RunnerDecisions, AFlakyVerifierIsRunAgainInTheFinalCheck) {
  // Baseline: fails, passes on the second run (flaky); final check: the same.
  processes_.OnCommand("check", std::vector<CommandReply>{
                                    {1, "error: timing\n"}, {0, "ok\n"}, {1, "error: timing\n"},
                                    {0, "ok\n"}});
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kPublished) << job.reason;
  EXPECT_EQ(processes_.Calls("check"), 4);
}

TEST_F(RunnerDecisions, ASteadyVerifierThatFailsAfterTheChangeIsNotRunAgain) {
  processes_.OnCommand("check", [](const sandbox::ProcessSpec& spec) {
    auto text = ReadFile(spec.cwd / "app.txt");
    return text && *text == "old\n" ? CommandReply{0, "ok\n"}
                                    : CommandReply{1, "error: app.txt: unexpected new\n"};
  });
  JobReport job = RunOne(Spec("limits:\n  max_attempts: 1\n"));
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "verifier_failed");
  EXPECT_TRUE(job.reason.starts_with("final check failed")) << job.reason;
  EXPECT_EQ(processes_.Calls("check"), 2);
  EXPECT_FALSE(HasBranch(repos_[0], "drover/m"));
  EXPECT_EQ(CountingForge::opened, 0);
}

TEST_F(RunnerDecisions, AFailedFinalCheckIsFedBackToTheNextAttempt) {
  processes_.OnCommand("check", [](const sandbox::ProcessSpec& spec) {
    auto text = ReadFile(spec.cwd / "app.txt");
    return text && *text != "half\n" ? CommandReply{0, "ok\n"}
                                     : CommandReply{1, "error: app.txt: half done\n"};
  });
  std::vector<std::string> feedback;
  processes_.SetAgent([&](const agent::AgentTask& task) -> std::optional<agent::AgentOutcome> {
    feedback.push_back(task.previous_attempt_feedback);
    // The second attempt starts from a fresh checkout, not from the first one's edit.
    EXPECT_EQ(ReadFile(task.workspace / "app.txt").value_or(""), "old\n");
    WriteTestFile(task.workspace, "app.txt", task.attempt == 1 ? "half\n" : "new\n");
    return Finished();
  });
  JobReport job = RunOne(Spec("limits:\n  max_attempts: 2\n"));
  EXPECT_EQ(job.status, JobStatus::kPublished) << job.reason;
  EXPECT_EQ(job.attempts, 2);
  ASSERT_EQ(feedback.size(), 2u);
  EXPECT_EQ(feedback[0], "");
  EXPECT_NE(feedback[1].find("half done"), std::string::npos) << feedback[1];
}

TEST_F(RunnerDecisions, NotApplicableIsTheAgentsFinding) {
  processes_.SetAgent([](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> {
    agent::AgentOutcome outcome;
    outcome.status = agent::AgentStatus::kNotApplicable;
    outcome.reason = "the repository has no old";
    return outcome;
  });
  JobReport job = RunOne(Spec("limits:\n  max_attempts: 3\n"));
  EXPECT_EQ(job.status, JobStatus::kNotApplicable);
  EXPECT_EQ(job.reason, "the repository has no old");
  EXPECT_EQ(KindOf(job), "");
  EXPECT_EQ(processes_.Calls("agent"), 1);
  EXPECT_EQ(processes_.Calls("check"), 1);  // No final check.
}

TEST_F(RunnerDecisions, AModelErrorFailsTheJobWithoutAnotherAttempt) {
  processes_.SetAgent([](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> {
    return Failed("model: upstream unavailable", "unavailable");
  });
  JobReport job = RunOne(Spec("limits:\n  max_attempts: 3\n"));
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "model_error");
  EXPECT_EQ(job.reason, "agent: model: upstream unavailable");
  EXPECT_EQ(job.attempts, 1);
}

TEST_F(RunnerDecisions, SpentLimitsAreABudgetFailureAndAreTriedAgain) {
  processes_.SetAgent([](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> {
    return Failed("turn limit reached (8)");
  });
  JobReport job = RunOne(Spec("limits:\n  max_attempts: 2\n"));
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "budget_exhausted");
  EXPECT_EQ(job.attempts, 2);
  EXPECT_EQ(processes_.Calls("agent"), 2);
}

TEST_F(RunnerDecisions, MostlyFailingEditsAreEditErrors) {
  processes_.SetAgent([](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> {
    auto outcome = Failed("turn limit reached (8)");
    outcome.tool_calls = 8;
    outcome.tool_errors = 6;
    // The agent names the kind where the attempt ended; the runner never reads it from counts.
    outcome.failure = agent::AgentFailure::kEditErrors;
    return outcome;
  });
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "edit_errors");
}

TEST_F(RunnerDecisions, AnAgentThatLeavesNoResultIsAnInfrastructureFailure) {
  processes_.SetAgent(
      [](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> { return std::nullopt; });
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "infrastructure");
  EXPECT_NE(job.reason.find("without a result"), std::string::npos) << job.reason;
}

TEST_F(RunnerDecisions, AnEmptyChangeIsNotPublished) {
  processes_.SetAgent([](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> {
    return Finished();
  });
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(job.reason, "final check failed: the agent changed nothing");
  EXPECT_EQ(KindOf(job), "diff_policy");
  EXPECT_EQ(CountingForge::opened, 0);
}

TEST_F(RunnerDecisions, AForbiddenPathFailsTheDiffPolicy) {
  JobReport job = RunOne(Spec("policy:\n  forbidden_paths: [app.txt]\n"));
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "diff_policy");
  EXPECT_TRUE(job.reason.starts_with("diff policy: ")) << job.reason;
  EXPECT_FALSE(HasBranch(repos_[0], "drover/m"));
}

TEST_F(RunnerDecisions, AMustBeGonePatternThatStaysFailsTheDiffPolicy) {
  processes_.SetAgent([](const agent::AgentTask& task) -> std::optional<agent::AgentOutcome> {
    WriteTestFile(task.workspace, "app.txt", "old and new\n");
    return Finished();
  });
  JobReport job = RunOne(Spec("policy:\n  must_be_gone: [old]\n"));
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "diff_policy");
  EXPECT_NE(job.reason.find("old"), std::string::npos) << job.reason;
}

TEST_F(RunnerDecisions, AChangeCarryingACredentialIsRefused) {
  processes_.SetAgent([](const agent::AgentTask& task) -> std::optional<agent::AgentOutcome> {
    WriteTestFile(task.workspace, "app.txt", "new\n");
    WriteTestFile(task.workspace, "config.ini", std::string("key = ") + kApiKey + "\n");
    return Finished();
  });
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kFailed);
  EXPECT_EQ(KindOf(job), "diff_policy");
  EXPECT_EQ(job.reason,
            "the change contains a credential of this run in config.ini; not published");
  EXPECT_FALSE(HasBranch(repos_[0], "drover/m"));
  EXPECT_EQ(CountingForge::opened, 0);
  // Nothing the runner wrote for the job holds the key.
  for (const auto& entry : fs::recursive_directory_iterator(job.job_dir)) {
    if (!entry.is_regular_file() || entry.path().string().find("/workspace/") != std::string::npos)
      continue;
    EXPECT_EQ(ReadFile(entry.path()).value_or("").find(kApiKey), std::string::npos)
        << entry.path();
  }
}

TEST_F(RunnerDecisions, AnOptedOutRepositoryIsSkipped) {
  fs::path repo = repos_[0];
  WriteTestFile(repo, ".drover.yml", "opt_out: true\nreason: frozen\n");
  drover::testing::Sh("git -C '" + repo.string() + "' add -A && git -C '" + repo.string() +
                      "' -c user.name=t -c user.email=t@t commit -qm opt-out");
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kSkipped);
  EXPECT_EQ(job.reason, "the repository opted out in .drover.yml: frozen");
  EXPECT_EQ(processes_.Calls("check"), 0);
}

TEST_F(RunnerDecisions, AMissingRepositoryFailsItsJobOnly) {
  AddRepo("second");
  fs::remove_all(repos_[0]);
  auto report = Run();
  ASSERT_OK(report);
  ASSERT_EQ(report->jobs.size(), 2u);
  EXPECT_EQ(report->jobs[0].status, JobStatus::kFailed);
  EXPECT_TRUE(report->jobs[0].reason.starts_with("clone failed")) << report->jobs[0].reason;
  EXPECT_EQ(KindOf(report->jobs[0]), "infrastructure");
  EXPECT_EQ(report->jobs[1].status, JobStatus::kPublished) << report->jobs[1].reason;
}

TEST_F(RunnerDecisions, FinishedJobsAreKeptWhenTheRunIsRunAgain) {
  ASSERT_EQ(RunOne().status, JobStatus::kPublished);
  auto again = Run();
  ASSERT_OK(again);
  EXPECT_EQ(again->resumed_jobs, 1);
  ASSERT_EQ(again->jobs.size(), 1u);
  EXPECT_EQ(again->jobs[0].status, JobStatus::kPublished);
  EXPECT_EQ(processes_.Calls("agent"), 1);  // Not run again.
  EXPECT_EQ(CountingForge::opened, 1);
  EXPECT_EQ(CountingForge::updated, 0);
}

TEST_F(RunnerDecisions, WithoutARunIdTheUnfinishedRunOfTheSameSpecGoesOn) {
  ASSERT_OK(store_.CreateRun("m-earlier", "m", SpecHash(Spec()), clock_.Now()));
  ASSERT_OK(store_.UpsertJob("m-earlier", "app", repos_[0].string()));
  RunOptions options = Options();
  options.run_id.clear();
  auto report = Run(Spec(), options);
  ASSERT_OK(report);
  EXPECT_EQ(report->run_id, "m-earlier");
  EXPECT_TRUE(report->continued);
  // Another spec text is another run.
  RunOptions fresh = Options();
  fresh.run_id.clear();
  auto other = Run(Spec("pr:\n  title: Another\n"), fresh);
  ASSERT_OK(other);
  EXPECT_NE(other->run_id, "m-earlier");
  EXPECT_FALSE(other->continued);
}

TEST_F(RunnerDecisions, ACancelledRunStartsNoRepository) {
  ASSERT_OK(store_.CreateRun("r", "m", SpecHash(Spec()), clock_.Now()));
  ASSERT_OK(store_.SetRunControl("r", RunControl::kCancelled));
  JobReport job = RunOne();
  EXPECT_EQ(job.status, JobStatus::kSkipped);
  EXPECT_EQ(job.reason, "the run was cancelled before this repository started");
  EXPECT_EQ(processes_.Calls("check"), 0);
}

TEST_F(RunnerDecisions, ARunOfTheSameIdWithAnotherSpecIsRefused) {
  ASSERT_OK(store_.CreateRun("r", "m", "another hash", clock_.Now()));
  auto report = Run();
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(report.error().message.find("run r"), std::string::npos) << report.error().message;
}

// The canary wave below its bar pauses the run: the rest does not start.
TEST_F(RunnerDecisions, ACanaryBelowItsBarPausesTheRun) {
  AddRepo("second");
  processes_.SetAgent([](const agent::AgentTask&) -> std::optional<agent::AgentOutcome> {
    return Failed("turn limit reached (8)");
  });
  auto report =
      Run(Spec("limits:\n  max_attempts: 1\nrollout:\n  canary: 1\n  min_success: 1\n"));
  ASSERT_OK(report);
  ASSERT_EQ(report->jobs.size(), 2u);
  EXPECT_EQ(report->jobs[0].status, JobStatus::kFailed);
  EXPECT_EQ(report->jobs[1].status, JobStatus::kSkipped);
  EXPECT_EQ(report->jobs[1].reason, "not started: the canary wave is below its bar");
  EXPECT_NE(report->paused.find("0 of 1 judged"), std::string::npos) << report->paused;
  EXPECT_EQ(store_.GetRunControl("r").value(), RunControl::kPaused);
  EXPECT_TRUE(fs::exists(report->run_dir / "rollout.json"));
  EXPECT_EQ(processes_.Calls("agent"), 1);
}

TEST_F(RunnerDecisions, ACanaryAtItsBarLetsTheRestFollow) {
  AddRepo("second");
  auto report = Run(Spec("rollout:\n  canary: 1\n  min_success: 1\n"));
  ASSERT_OK(report);
  ASSERT_EQ(report->jobs.size(), 2u);
  EXPECT_EQ(report->jobs[0].status, JobStatus::kPublished);
  EXPECT_EQ(report->jobs[1].status, JobStatus::kPublished);
  EXPECT_TRUE(report->paused.empty());
  EXPECT_EQ(store_.GetRunControl("r").value(), RunControl::kRunning);
}

TEST_F(RunnerDecisions, APausedCanaryGoesOnAfterResume) {
  AddRepo("second");
  processes_.SetAgent([](const agent::AgentTask& task) -> std::optional<agent::AgentOutcome> {
    if (task.repository == "app") return Failed("turn limit reached (8)");
    WriteTestFile(task.workspace, "app.txt", "new\n");
    return Finished();
  });
  const std::string spec = Spec("rollout:\n  canary: 1\n  min_success: 1\n");
  auto paused = Run(spec);
  ASSERT_OK(paused);
  ASSERT_FALSE(paused->paused.empty());
  ASSERT_OK(store_.SetRunControl("r", RunControl::kRunning));  // `drover resume r`.
  auto resumed = Run(spec);
  ASSERT_OK(resumed);
  EXPECT_TRUE(resumed->paused.empty());
  EXPECT_EQ(resumed->jobs[0].status, JobStatus::kFailed);  // Kept from the first run.
  EXPECT_EQ(resumed->jobs[1].status, JobStatus::kPublished) << resumed->jobs[1].reason;
}

// The run's token budget is spent by the first job's one model exchange (through its gateway
// socket, to a scripted provider): the next repository does not start.
TEST_F(RunnerDecisions, ASpentRunBudgetStartsNoFurtherJob) {
  AddRepo("second");
  drover::testing::ScriptedModelServer provider;
  agent::ModelReply reply;
  reply.text = "done";
  reply.usage = {4000, 1000, 0};
  provider.AddReply(reply);
  auto http = MakeCurlHttpClient();
  processes_.SetAgent([](const agent::AgentTask& task) -> std::optional<agent::AgentOutcome> {
    HttpRequest request;
    request.method = "POST";
    request.url = "http://gateway/v1/chat/completions";
    request.unix_socket = task.gateway_socket;
    request.headers["content-type"] = "application/json";
    request.body = R"({"model":"gpt-test","messages":[{"role":"user","content":"go"}]})";
    auto answer = MakeCurlHttpClient()->Send(request);
    EXPECT_TRUE(answer.has_value()) << answer.error().ToString();
    WriteTestFile(task.workspace, "app.txt", "new\n");
    return Finished();
  });
  RunOptions options = Options();
  options.model.upstreams[0].base_url = provider.OpenAiBaseUrl();
  options.max_run_tokens = 5000;
  RunObserver quiet;
  auto report = RunMigration(options, Input(Spec()), DepsWithHttp(store_, *http), quiet);
  ASSERT_OK(report);
  ASSERT_EQ(report->jobs.size(), 2u);
  EXPECT_EQ(report->jobs[0].status, JobStatus::kPublished) << report->jobs[0].reason;
  EXPECT_EQ(report->jobs[0].input_tokens, 4000);
  EXPECT_EQ(report->jobs[1].status, JobStatus::kSkipped);
  EXPECT_NE(report->jobs[1].reason.find("budget"), std::string::npos) << report->jobs[1].reason;
  EXPECT_EQ(processes_.Calls("agent"), 1);
  EXPECT_EQ(provider.requests().size(), 1u);
  auto skipped = store_.ListJobs("r", JobState::kSkipped);
  ASSERT_OK(skipped);
  ASSERT_EQ(skipped->size(), 1u);
  EXPECT_EQ((*skipped)[0].step, "not started");
}

// A kill leaves the store with the job at some step and its directory half-written: the run
// started again wipes the directory and runs the job from the start, to one PR.
class RunnerResume : public RunnerDecisions, public ::testing::WithParamInterface<const char*> {};

TEST_P(RunnerResume, AJobKilledAtAStepRunsAgainFromTheStart) {
  const std::string step = GetParam();
  ASSERT_OK(store_.CreateRun("r", "m", SpecHash(Spec()), clock_.Now()));
  auto id = store_.UpsertJob("r", "app", repos_[0].string());
  ASSERT_OK(id);
  for (const char* done : {"preparing", "prepared", "baseline", "waiting", "agent", "verifying",
                           "verified", "publishing"}) {
    ASSERT_OK(store_.AdvanceJob(*id, done, JobState::kRunning, "", "", clock_.Now()));
    if (done == step) break;
  }
  fs::path job_dir = dir_ / "state/runs/r/jobs/app";
  WriteTestFile(job_dir, "workspace/app.txt", "half-written\n");
  WriteTestFile(job_dir, "attempt-1/result.json", "{\"status\":");
  auto report = Run();
  ASSERT_OK(report);
  ASSERT_EQ(report->jobs.size(), 1u);
  const JobReport& job = report->jobs[0];
  EXPECT_EQ(job.status, JobStatus::kPublished) << job.reason;
  EXPECT_EQ(report->resumed_jobs, 0);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_FALSE(fs::exists(job_dir / "workspace"));  // Removed when the job ended.
  EXPECT_EQ(CountingForge::opened + CountingForge::updated, 1);
  auto steps = store_.ListSteps(*id);
  ASSERT_OK(steps);
  bool interrupted = false;
  for (const auto& s : *steps) interrupted = interrupted || s.state == JobState::kInterrupted;
  EXPECT_TRUE(interrupted) << "the kill is in the step log";
  EXPECT_EQ(store_.GetJob(*id)->state, JobState::kPublished);
}

INSTANTIATE_TEST_SUITE_P(Steps, RunnerResume,
                         ::testing::Values("preparing", "prepared", "baseline", "waiting", "agent",
                                           "verifying", "verified", "publishing"));

// Killed after the forge opened the PR and before the job was recorded: the claim is in the
// store, the forge's record in the job directory; the PR is updated, never opened twice.
TEST_F(RunnerDecisions, APublicationInterruptedAfterTheForgeIsNotOpenedTwice) {
  ASSERT_EQ(RunOne().status, JobStatus::kPublished);
  fs::path first_pr = dir_ / "state/runs/r/jobs/app/pr.json";
  auto opened = ReadFile(first_pr);
  ASSERT_OK(opened);
  // The same run as the store had it just before the kill, in a store of its own.
  MemoryStateStore killed;
  ASSERT_OK(killed.CreateRun("r2", "m", SpecHash(Spec()), clock_.Now()));
  auto id = killed.UpsertJob("r2", "app", repos_[0].string());
  ASSERT_OK(id);
  ASSERT_OK(killed.AdvanceJob(*id, "publishing", JobState::kRunning, "", "", clock_.Now()));
  ASSERT_EQ(killed.ClaimPublication(*id, "drover/m")->outcome, PublicationClaim::Outcome::kClaimed);
  WriteTestFile(dir_ / "state/runs/r2/jobs/app", "pr.json", *opened);

  RunOptions options = Options();
  options.run_id = "r2";
  RunObserver quiet;
  auto report = RunMigration(options, Input(Spec()), Deps(killed), quiet);
  ASSERT_OK(report);
  EXPECT_EQ(report->jobs[0].status, JobStatus::kPublished) << report->jobs[0].reason;
  EXPECT_EQ(CountingForge::opened, 1);   // The first run's.
  EXPECT_EQ(CountingForge::updated, 1);  // This one found it.
  auto claim = killed.ClaimPublication(*id, "drover/m");
  ASSERT_OK(claim);
  EXPECT_EQ(claim->outcome, PublicationClaim::Outcome::kPublished);
  auto now = ParseJson(ReadFile(dir_ / "state/runs/r2/jobs/app/pr.json").value_or(""), "pr.json");
  auto before = ParseJson(*opened, "pr.json");
  ASSERT_OK(now);
  ASSERT_OK(before);
  EXPECT_EQ((*now)["id"], (*before)["id"]);
  EXPECT_EQ((*now)["created_at"], (*before)["created_at"]);
}

TEST_F(RunnerDecisions, ThePauseLoopWaitsOnTheRunsClock) {
  ASSERT_OK(store_.CreateRun("r", "m", SpecHash(Spec()), clock_.Now()));
  ASSERT_OK(store_.SetRunControl("r", RunControl::kPaused));
  // Another handle, as `drover resume` in another process: resumes once the run has waited
  // a minute of its clock.
  auto other = store_.Share();
  std::atomic<bool> stop{false};
  const auto paused_at = clock_.MonotonicNow();
  std::thread resumer([&] {
    while (!stop) {
      if (clock_.MonotonicNow() - paused_at >= std::chrono::minutes(1)) {
        (void)other->SetRunControl("r", RunControl::kRunning);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto report = Run();
  stop = true;
  resumer.join();
  ASSERT_OK(report);
  EXPECT_EQ(report->jobs[0].status, JobStatus::kPublished) << report->jobs[0].reason;
  EXPECT_GE(clock_.MonotonicNow() - paused_at, std::chrono::minutes(1));
}

}  // namespace
}  // namespace drover::fleet
