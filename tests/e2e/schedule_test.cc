// End-to-end: the scheduler. Build slots bound the verifier runs of the whole run (the
// runner's and the agents' own), whatever the number of agents; a canary wave below its bar
// pauses the run until `drover resume`, and one at its bar goes on.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/fs.h"
#include "sandbox/process.h"
#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;

Json BumpAndVerify() {
  return Json::array({Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
                      Call("verify", Json::object()), Call("finish", {{"summary", "Bumped."}})});
}

// Every verifier run (baseline, the agent's verify, the final check) appends "START END" in
// nanoseconds to `times`, as one write.
std::map<std::string, std::string> TimedRepo(const std::string& name,
                                             const std::filesystem::path& times) {
  return {{"Makefile", "test:\n\t@echo \"$$(date +%s%N) $$(sleep 0.2; date +%s%N)\" >> " +
                           times.string() + "\n"},
          {"version.txt", "v1\n"},
          {"name.txt", name + "\n"}};  // Distinct commits: no baseline is shared.
}

TEST(Schedule, OneBuildSlotMeansNoTwoVerifierRunsOverlap) {
  Fixture fx;
  auto times = fx.root() / "times.log";
  for (int i = 0; i < 4; ++i) {
    std::string name = "r" + std::to_string(i);
    fx.AddRepo(name, TimedRepo(name, times));
    fx.WriteCassette(name, BumpAndVerify());
  }
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({}, {"--agents", "4", "--builds", "1", "--sandbox", "none"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.summary["counts"]["published"], 4) << run.output;
  std::vector<std::pair<int64_t, int64_t>> spans;
  std::istringstream in(ReadTestFile(times));
  for (int64_t start = 0, end = 0; in >> start >> end;) spans.emplace_back(start, end);
  // Per repository: the baseline, the agent's verify, the final check.
  ASSERT_EQ(spans.size(), 12u) << ReadTestFile(times);
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_GE(spans[i].first, spans[i - 1].second)
        << "verifier runs " << i - 1 << " and " << i << " overlap";
  }
}

TEST(Schedule, ManyBuildSlotsLetVerifierRunsOverlap) {
  // The check above could pass with a runner that serialises everything: with four build
  // slots the same runs do overlap.
  Fixture fx;
  auto times = fx.root() / "times.log";
  for (int i = 0; i < 4; ++i) {
    std::string name = "r" + std::to_string(i);
    fx.AddRepo(name, TimedRepo(name, times));
    fx.WriteCassette(name, BumpAndVerify());
  }
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({}, {"--agents", "4", "--builds", "4", "--sandbox", "none"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::vector<std::pair<int64_t, int64_t>> spans;
  std::istringstream in(ReadTestFile(times));
  for (int64_t start = 0, end = 0; in >> start >> end;) spans.emplace_back(start, end);
  std::sort(spans.begin(), spans.end());
  int overlaps = 0;
  for (size_t i = 1; i < spans.size(); ++i) overlaps += spans[i].first < spans[i - 1].second;
  EXPECT_GT(overlaps, 0) << ReadTestFile(times);
}

TEST(Schedule, MirrorCacheIsKeptWithinItsBound) {
  Fixture fx;
  for (int i = 0; i < 3; ++i) {
    std::string name = "r" + std::to_string(i);
    fx.AddRepo(name, {{"Makefile", "test:\n\t@true\n"}, {"version.txt", "v1\n"}});
    fx.WriteCassette(name, BumpAndVerify());
  }
  fx.WriteSpec(StandardSpec());
  // About a kilobyte: no mirror fits once its job is done.
  DroverRun run = fx.Run({}, {"--jobs", "1", "--sandbox", "none", "--mirror-cache-gb", "0.000001",
                              "--log-level", "info"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.summary["counts"]["published"], 3);
  int mirrors = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fx.root() / "state/mirrors")) {
    mirrors += entry.path().extension() == ".git";
  }
  EXPECT_EQ(mirrors, 0);
  EXPECT_NE(ReadTestFile(run.run_dir / "run.log").find("mirror cache: removed"), std::string::npos);
  // Without a bound they stay, for the next run's fetch.
  DroverRun kept = fx.Run({}, {"--jobs", "1", "--sandbox", "none", "--mirror-cache-gb", "0"});
  ASSERT_EQ(kept.exit_code, 0) << kept.output;
  mirrors = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fx.root() / "state/mirrors")) {
    mirrors += entry.path().extension() == ".git";
  }
  EXPECT_EQ(mirrors, 3);
}

// On a terminal (a pty from util-linux `script`), stderr carries one redrawn status line;
// through a pipe, one plain line per finished repository.
TEST(Schedule, ProgressIsALiveLineOnATerminalAndPlainLinesElsewhere) {
  Fixture fx;
  for (int i = 0; i < 3; ++i) {
    std::string name = "r" + std::to_string(i);
    // Slow enough checks that the line is drawn a few times.
    fx.AddRepo(name, {{"Makefile", "test:\n\t@sleep 0.4\n"}, {"version.txt", "v1\n"}});
    fx.WriteCassette(name, BumpAndVerify());
  }
  fx.WriteSpec(StandardSpec());
  DroverRun piped = fx.Run({}, {"--agents", "3", "--sandbox", "none"});
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_NE(piped.output.find("] r1: published"), std::string::npos) << piped.output;
  EXPECT_EQ(piped.output.find("\x1b[2K"), std::string::npos);

  std::string command = std::string(DROVER_BINARY) + " run " + fx.spec_path().string() +
                        " --repos " + (fx.root() / "repos.txt").string() + " --state-dir " +
                        (fx.root() / "state").string() +
                        " --run-id on-a-terminal --agents 3 --builds 2 --sandbox none";
  sandbox::ProcessSpec spec;
  spec.argv = {"script", "-qec", command, "/dev/null"};
  spec.cwd = fx.root();
  spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  spec.env["DROVER_MODEL"] = "replay:" + (fx.root() / "cassettes").string();
  spec.timeout = std::chrono::seconds(120);
  auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
  ASSERT_TRUE(result.has_value());
  if (result->exit_code == 127) GTEST_SKIP() << "no `script` (util-linux) here";
  ASSERT_EQ(result->exit_code, 0) << result->output;
  const std::string& out = result->output;
  EXPECT_NE(out.find("\r\x1b[2K[0/3] 0 published"), std::string::npos) << out;
  EXPECT_NE(out.find("agents "), std::string::npos) << out;
  EXPECT_NE(out.find("/2 |"), std::string::npos) << out;  // Build slots in use of 2.
  EXPECT_NE(out.find("tokens"), std::string::npos) << out;
  EXPECT_NE(out.find("ETA"), std::string::npos) << out;
  EXPECT_EQ(out.find("] r1: published"), std::string::npos) << out;  // Successes are counted.
}

// Infrastructure failures get bounded retries; a repository that is not there does not.
TEST(Schedule, UnreachableClonesAreRetriedMissingRepositoriesAreNot) {
  Fixture fx;
  fx.AddTargetLine("http://127.0.0.1:1/unreachable.git");
  fx.AddTargetLine((fx.root() / "repos" / "missing").string());
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({}, {"--sandbox", "none", "--log-level", "info"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(run.summary["counts"]["failed"], 2) << run.output;
  std::string log = ReadTestFile(run.run_dir / "run.log");
  auto count = [&](const std::string& text) {
    int n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("trying again"), 2) << log;  // Two more tries after the first, then failed.
  EXPECT_EQ(count("trying again in 1 s"), 1) << log;
  EXPECT_EQ(count("trying again in 2 s"), 1) << log;
  EXPECT_EQ(count("no such repository; trying again"), 0) << log;
  for (const auto& job : run.summary["jobs"]) {
    EXPECT_NE(job["reason"].get<std::string>().find("clone failed"), std::string::npos) << job;
  }
}

class Rollout : public ::testing::Test {
 protected:
  // Four repositories; the first two are the canary wave. `failing` canary jobs change
  // nothing (failed).
  void SetUp(int failing) {
    for (int i = 0; i < 4; ++i) {
      std::string name = "r" + std::to_string(i);
      fx_.AddRepo(name, {{"Makefile", "test:\n\t@true\n"}, {"version.txt", "v1\n"}});
      if (i < failing) {
        fx_.WriteCassette(name, Json::array({Call("finish", {{"summary", "Nothing to do."}})}));
      } else {
        fx_.WriteCassette(name, BumpAndVerify());
      }
    }
    std::string spec = StandardSpec();
    spec.insert(spec.find("limits:"), "rollout:\n  canary: 2\n  min_success: 0.7\n");
    fx_.WriteSpec(spec);
  }

  sandbox::ProcessResult Drover(std::vector<std::string> args) {
    sandbox::ProcessSpec spec;
    spec.argv = {DROVER_BINARY};
    for (auto& a : args) spec.argv.push_back(a);
    spec.argv.push_back("--state-dir");
    spec.argv.push_back((fx_.root() / "state").string());
    spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
    spec.env["DROVER_MODEL"] = "replay:" + (fx_.root() / "cassettes").string();
    spec.timeout = std::chrono::seconds(120);
    auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
    EXPECT_TRUE(result.has_value());
    return result ? *result : sandbox::ProcessResult{};
  }

  sandbox::ProcessResult RunAgain() {
    return Drover({"run", fx_.spec_path().string(), "--repos", (fx_.root() / "repos.txt").string(),
                   "--run-id", "run1", "--agents", "4", "--sandbox", "none"});
  }

  Json Summary() {
    auto text = ReadFile(fx_.root() / "state/runs/run1/summary.json");
    return text ? Json::parse(*text) : Json();
  }

  Fixture fx_;
};

TEST_F(Rollout, CanaryBelowTheBarPausesTheRunUntilResumed) {
  SetUp(1);  // One of two canary jobs fails: 50% < 70%.
  DroverRun run = fx_.Run({}, {"--agents", "4", "--sandbox", "none"});
  EXPECT_EQ(run.exit_code, 6) << run.output;
  std::string paused = run.summary.value("paused", "");
  EXPECT_NE(paused.find("1 of 2 judged job(s) published (50%"), std::string::npos) << paused;
  EXPECT_NE(paused.find("bar 70%"), std::string::npos) << paused;
  EXPECT_NE(run.output.find("canary wave"), std::string::npos) << run.output;
  EXPECT_EQ(run.summary["counts"]["published"], 1);
  // The rest never started.
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/r2"));
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/r3"));
  EXPECT_NE(ReadTestFile(run.run_dir / "summary.md").find("Paused"), std::string::npos);

  // Started again without a resume: still paused, nothing runs.
  auto again = RunAgain();
  EXPECT_EQ(again.exit_code, 6) << again.output;
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs/r2"));

  auto status = Drover({"status", "run1"});
  EXPECT_NE(status.output.find("paused"), std::string::npos) << status.output;
  EXPECT_EQ(Drover({"resume", "run1"}).exit_code, 0);
  auto resumed = RunAgain();
  EXPECT_EQ(resumed.exit_code, 1) << resumed.output;  // r0 failed in the canary.
  Json summary = Summary();
  EXPECT_EQ(summary["counts"]["published"], 3) << summary.dump(2);
  EXPECT_EQ(summary["resumed_jobs"], 2);
  EXPECT_EQ(summary["paused"], "");
  EXPECT_NE(ReadTestFile(run.run_dir / "rollout.json").find("resumed by the operator"),
            std::string::npos);
}

TEST_F(Rollout, CanaryAtTheBarContinuesInTheSameProcess) {
  SetUp(0);
  DroverRun run = fx_.Run({}, {"--agents", "4", "--sandbox", "none"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.summary["counts"]["published"], 4) << run.summary.dump(2);
  EXPECT_EQ(run.summary["paused"], "");
  std::string decision = ReadTestFile(run.run_dir / "rollout.json");
  EXPECT_NE(decision.find("\"proceed\": true"), std::string::npos) << decision;
  EXPECT_NE(decision.find("2 of 2 judged"), std::string::npos) << decision;
}

}  // namespace
}  // namespace drover::e2e
