// End-to-end: `drover run` killed with SIGKILL part-way and started again with the same run
// id finishes the rest; finished jobs stay finished and no job publishes twice. Also
// `drover status` and `drover cancel` through the state store.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "core/fs.h"
#include "sandbox/process.h"
#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string repos;
    for (int i = 0; i < 3; ++i) {
      std::string name = "r" + std::to_string(i);
      // A second per check keeps each job long enough to be killed in the middle of.
      auto repo = fx_.AddRepo(name, {{"Makefile", "test:\n\t@sleep 1\n"}, {"version.txt", "v1\n"}});
      repos += repo.string() + "\n";
      fx_.WriteCassette(name, Json::array({Call("write_file", {{"path", "version.txt"},
                                                               {"content", "v2\n"}}),
                                           Call("finish", {{"summary", "Bumped."}})}));
    }
    drover::testing::WriteTestFile(fx_.root(), "targets.txt", repos);
    fx_.WriteSpec(StandardSpec());
  }

  std::vector<std::string> Argv(const std::string& command) {
    if (command == "retry") {
      return {DROVER_BINARY, "retry", "resumed", "--status", "failed", "--state-dir",
              (fx_.root() / "state").string()};
    }
    if (command == "retry-skipped") {
      return {DROVER_BINARY, "retry", "resumed", "--status", "skipped", "--state-dir",
              (fx_.root() / "state").string()};
    }
    if (command == "run-budget") {
      auto argv = Argv("run");
      argv.push_back("--max-tokens");
      argv.push_back("1");
      return argv;
    }
    if (command == "run-cost") {
      // Replayed tokens priced at $1000 per million: the first prompt's thousands of tokens
      // cost dollars, over the budget of $0.01.
      drover::testing::WriteTestFile(fx_.root(), "prices.yaml",
                                     "replay: {input: 1000, output: 1000}\n");
      auto argv = Argv("run");
      for (std::string arg : {"--max-cost", "0.01", "--prices"}) argv.push_back(arg);
      argv.push_back((fx_.root() / "prices.yaml").string());
      return argv;
    }
    if (command == "run-cost-unpriced") {
      auto argv = Argv("run-cost");  // Then a table without a price for the replayed model.
      drover::testing::WriteTestFile(fx_.root(), "prices.yaml",
                                     "openai:gpt-4.1: {input: 2, output: 8}\n");
      return argv;
    }
    if (command == "run-plain" || command == "run-fresh") {
      // The command as a user types it again: no run id.
      std::vector<std::string> argv = {DROVER_BINARY, "run", fx_.spec_path().string(),
                                       "--repos", (fx_.root() / "targets.txt").string(),
                                       "--state-dir", (fx_.root() / "state").string(),
                                       "--jobs", "1"};
      if (command == "run-fresh") argv.push_back("--fresh");
      return argv;
    }
    if (command != "run") {
      return {DROVER_BINARY, command, "resumed", "--state-dir", (fx_.root() / "state").string()};
    }
    return {DROVER_BINARY,  "run",         fx_.spec_path().string(),
            "--repos",      (fx_.root() / "targets.txt").string(),
            "--state-dir",  (fx_.root() / "state").string(),
            "--run-id",     "resumed",
            "--jobs",       "1"};
  }

  std::map<std::string, std::string> Env() {
    auto env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
    env["DROVER_MODEL"] = "replay:" + (fx_.root() / "cassettes").string();
    for (const auto& [k, v] : model_env_) env[k] = v;
    return env;
  }

  sandbox::ProcessResult Drover(const std::string& command) {
    sandbox::ProcessSpec spec;
    spec.argv = Argv(command);
    spec.env = Env();
    spec.timeout = std::chrono::seconds(120);
    auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
    EXPECT_TRUE(result.has_value());
    return result ? *result : sandbox::ProcessResult{};
  }

  // Starts `drover run` in the background and SIGKILLs it as soon as `ready` holds.
  void RunAndKillWhen(const std::function<bool()>& ready, const std::string& command = "run") {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto argv = Argv(command);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      std::vector<std::string> env_text;
      for (const auto& [k, v] : Env()) env_text.push_back(k + "=" + v);
      std::vector<char*> envp;
      for (auto& e : env_text) envp.push_back(e.data());
      envp.push_back(nullptr);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!ready() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }

  // The run directories in the state dir, by name.
  std::vector<std::filesystem::path> RunDirs() {
    std::vector<std::filesystem::path> dirs;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(fx_.root() / "state/runs", ec)) {
      if (entry.is_directory()) dirs.push_back(entry.path());
    }
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }

  std::filesystem::path JobDir(int i) {
    return fx_.root() / "state/runs/resumed/jobs" / ("r" + std::to_string(i));
  }

  Fixture fx_;
  std::map<std::string, std::string> model_env_;  // Overrides, e.g. a real upstream.
};

TEST_F(Resume, KilledRunContinuesWithoutRepeatingFinishedJobs) {
  // Killed while the second repository is being worked on.
  RunAndKillWhen([&] {
    return std::filesystem::exists(JobDir(0) / "pr.json") && std::filesystem::exists(JobDir(1));
  });
  ASSERT_TRUE(std::filesystem::exists(JobDir(0) / "pr.json"));
  EXPECT_FALSE(std::filesystem::exists(JobDir(2)));
  std::string first_pr = ReadTestFile(JobDir(0) / "pr.json");

  auto status = Drover("status");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("published"), std::string::npos) << status.output;

  auto again = Drover("run");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["counts"]["published"], 3) << summary->dump(2);
  EXPECT_EQ((*summary)["resumed_jobs"], 1) << summary->dump(2);
  // The finished job was not run, published or even rewritten again.
  EXPECT_EQ(ReadTestFile(JobDir(0) / "pr.json"), first_pr);
  for (int i = 0; i < 3; ++i) {
    auto gate = ReadJsonl(JobDir(i) / "gate.jsonl");
    int baselines = 0;
    for (const auto& event : gate) baselines += event.value("decision", "") == "baseline" ? 1 : 0;
    EXPECT_EQ(baselines, 1) << "job r" << i;  // One life each: no leftovers of the killed run.
  }
}

// The same command typed again after a crash, without a run id, goes on with the run it
// started: the jobs that had finished are not run (nor paid for) again; --fresh starts anew.
TEST_F(Resume, PlainRerunResumesTheUnfinishedRunOfThatSpecAndTargets) {
  auto reply = [](const std::string& name, const Json& arguments) {
    agent::ModelReply r;
    r.tool_calls.push_back({"call_" + name, name, arguments.dump()});
    r.usage = {100, 10, 0};
    return r;
  };
  drover::testing::ScriptedModelServer server;
  // Three replies a job; twice what the three jobs need, so that a run that repeats jobs is
  // answered too and shows in the count.
  for (int i = 0; i < 6; ++i) {
    server.AddReply(reply("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}));
    server.AddReply(reply("verify", Json::object()));
    server.AddReply(reply("finish", {{"summary", "Bumped."}}));
  }
  model_env_ = {{"DROVER_MODEL", "openai:test-model"},
                {"OPENAI_API_KEY", "sk-test"},
                {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}};
  auto job_dir = [&](int i) {
    auto dirs = RunDirs();
    return dirs.empty() ? std::filesystem::path()
                        : dirs.front() / "jobs" / ("r" + std::to_string(i));
  };
  // Killed once the first two jobs are published and the third has started.
  RunAndKillWhen(
      [&] {
        return !RunDirs().empty() && std::filesystem::exists(job_dir(1) / "pr.json") &&
               std::filesystem::exists(job_dir(2));
      },
      "run-plain");
  ASSERT_EQ(RunDirs().size(), 1u);
  std::filesystem::path run_dir = RunDirs().front();
  ASSERT_TRUE(std::filesystem::exists(job_dir(1) / "pr.json"));
  size_t before = server.requests().size();
  ASSERT_GE(before, 6u);
  ASSERT_LT(before, 9u);
  std::string first_pr = ReadTestFile(job_dir(0) / "pr.json");

  auto again = Drover("run-plain");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(RunDirs().size(), 1u) << again.output;  // No second run.
  EXPECT_NE(again.output.find("resuming run " + run_dir.filename().string()), std::string::npos)
      << again.output;
  // Only the third job's replies that were not answered before the kill were asked for.
  EXPECT_EQ(server.requests().size(), 9u) << again.output;
  auto summary = ParseJson(ReadTestFile(run_dir / "summary.json"), "summary");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["counts"]["published"], 3) << summary->dump(2);
  EXPECT_EQ((*summary)["resumed_jobs"], 2) << summary->dump(2);
  EXPECT_EQ(ReadTestFile(job_dir(0) / "pr.json"), first_pr);

  // That run is finished: the same command now starts a new one, as does --fresh.
  auto fresh = Drover("run-fresh");
  EXPECT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_EQ(fresh.output.find("resuming"), std::string::npos) << fresh.output;
  EXPECT_EQ(RunDirs().size(), 2u) << fresh.output;
  EXPECT_EQ(server.requests().size(), 18u) << fresh.output;
}

// --fresh leaves an unfinished run alone; a plain re-run then still finds it, and a run
// whose targets differ is another run.
TEST_F(Resume, FreshStartsANewRunAndOtherTargetsAreAnotherRun) {
  RunAndKillWhen([&] {
    auto dirs = RunDirs();
    return !dirs.empty() && std::filesystem::exists(dirs.front() / "jobs/r0/pr.json");
  }, "run-plain");
  ASSERT_EQ(RunDirs().size(), 1u);
  std::string killed = RunDirs().front().filename().string();
  auto fresh = Drover("run-fresh");
  EXPECT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_EQ(fresh.output.find("resuming"), std::string::npos) << fresh.output;
  ASSERT_EQ(RunDirs().size(), 2u) << fresh.output;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // Run ids are per second.

  // One target fewer: not the killed run's targets.
  std::string targets = ReadTestFile(fx_.root() / "targets.txt");
  drover::testing::WriteTestFile(fx_.root(), "targets.txt",
                                 targets.substr(0, targets.rfind('\n', targets.size() - 2) + 1));
  auto other = Drover("run-plain");
  EXPECT_EQ(other.exit_code, 0) << other.output;
  EXPECT_EQ(other.output.find("resuming"), std::string::npos) << other.output;
  EXPECT_EQ(RunDirs().size(), 3u) << other.output;

  drover::testing::WriteTestFile(fx_.root(), "targets.txt", targets);
  auto plain = Drover("run-plain");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_NE(plain.output.find("resuming run " + killed), std::string::npos) << plain.output;
  EXPECT_EQ(RunDirs().size(), 3u) << plain.output;
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs" / killed / "summary.json"),
                           "summary");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["counts"]["published"], 3) << summary->dump(2);
}

TEST_F(Resume, CancelStopsStartingRepositories) {
  // With --jobs 1 the second job starts only once the first is recorded as finished.
  RunAndKillWhen([&] { return std::filesystem::exists(JobDir(1)); });
  auto cancel = Drover("cancel");
  EXPECT_EQ(cancel.exit_code, 0) << cancel.output;
  auto again = Drover("run");
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["counts"]["published"], 1) << summary->dump(2);
  EXPECT_EQ((*summary)["counts"]["skipped"], 2) << summary->dump(2);
  EXPECT_NE(summary->dump().find("the run was cancelled"), std::string::npos);
}

// With a real upstream, a job killed after two model replies is served those two again from
// the store when the run resumes: the model is asked only for what it had not answered.
TEST_F(Resume, FinishedModelStepsAreNotPaidForTwice) {
  auto reply = [](const std::string& name, const Json& arguments) {
    agent::ModelReply r;
    r.tool_calls.push_back({"call_" + name, name, arguments.dump()});
    r.usage = {100, 10, 0};
    return r;
  };
  drover::testing::ScriptedModelServer server;
  // One queue for the whole run (--jobs 1): r0's three replies, then r1's and r2's.
  for (int i = 0; i < 3; ++i) {
    server.AddReply(reply("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}));
    server.AddReply(reply("verify", Json::object()));
    server.AddReply(reply("finish", {{"summary", "Bumped."}}));
  }
  model_env_ = {{"DROVER_MODEL", "openai:test-model"},
                {"OPENAI_API_KEY", "sk-test"},
                {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}};
  // Killed while the agent's verify (a second's sleep) runs after the second reply.
  auto second_reply_at = std::chrono::steady_clock::time_point::max();
  RunAndKillWhen([&] {
    if (server.requests().size() < 2) return false;
    if (second_reply_at == std::chrono::steady_clock::time_point::max()) {
      second_reply_at = std::chrono::steady_clock::now();
    }
    return std::chrono::steady_clock::now() - second_reply_at > std::chrono::milliseconds(400);
  });
  ASSERT_EQ(server.requests().size(), 2u);
  auto again = Drover("run");
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value()) << again.output;
  EXPECT_EQ((*summary)["counts"]["published"], 3) << summary->dump(2);
  // r0 asked once more (its finish); r1 and r2 three times each.
  EXPECT_EQ(server.requests().size(), 2u + 1u + 3u + 3u) << again.output;
  std::string exchanges = ReadTestFile(JobDir(0) / "exchanges.jsonl");
  EXPECT_NE(exchanges.find("\"source\":\"resumed\""), std::string::npos) << exchanges;
}

TEST_F(Resume, RetryRunsOnlyTheFailedJobsAgain) {
  // r1's first agent changes nothing: failed.
  fx_.WriteCassette("r1", Json::array({Call("finish", {{"summary", "Nothing to do."}})}));
  auto first = Drover("run");
  EXPECT_EQ(first.exit_code, 1) << first.output;
  std::string first_pr = ReadTestFile(JobDir(0) / "pr.json");
  fx_.WriteCassette("r1", Json::array({Call("write_file", {{"path", "version.txt"},
                                                           {"content", "v2\n"}}),
                                       Call("finish", {{"summary", "Bumped."}})}));
  auto retry = Drover("retry");
  EXPECT_EQ(retry.exit_code, 0) << retry.output;
  EXPECT_NE(retry.output.find("1 failed job(s)"), std::string::npos) << retry.output;
  auto again = Drover("run");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["counts"]["published"], 3) << summary->dump(2);
  EXPECT_EQ((*summary)["resumed_jobs"], 2) << summary->dump(2);
  EXPECT_EQ(ReadTestFile(JobDir(0) / "pr.json"), first_pr);
}

TEST_F(Resume, SpentRunBudgetStopsStartingRepositories) {
  auto first = Drover("run-budget");
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value()) << first.output;
  // The first job's first prompt does not fit in one token: the gateway refuses it, that job
  // is skipped for the run's budget and the others are not started.
  EXPECT_EQ((*summary)["counts"]["published"], 0) << summary->dump(2);
  EXPECT_EQ((*summary)["counts"]["skipped"], 3) << summary->dump(2);
  EXPECT_NE(summary->dump().find("the run's token budget is spent at the gateway"),
            std::string::npos)
      << summary->dump(2);
  // The skipped ones can be put back and run with a larger budget.
  EXPECT_EQ(Drover("retry-skipped").exit_code, 0);
  auto again = Drover("run");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["counts"]["published"], 3) << summary->dump(2);
}

TEST_F(Resume, SpentCostBudgetStopsStartingRepositories) {
  auto first = Drover("run-cost");
  auto summary = ParseJson(ReadTestFile(fx_.root() / "state/runs/resumed/summary.json"), "summary");
  ASSERT_TRUE(summary.has_value()) << first.output;
  EXPECT_EQ((*summary)["counts"]["published"], 0) << summary->dump(2);
  EXPECT_EQ((*summary)["counts"]["skipped"], 3) << summary->dump(2);
  EXPECT_NE(summary->dump().find("the run's cost budget is spent at the gateway ($"),
            std::string::npos)
      << summary->dump(2);
}

TEST_F(Resume, CostBudgetNeedsAPriceForTheModel) {
  auto refused = Drover("run-cost-unpriced");
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_NE(refused.output.find("--max-cost: the price table has no price for replay"),
            std::string::npos)
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(fx_.root() / "state/runs/resumed"));
}

}  // namespace
}  // namespace drover::e2e
