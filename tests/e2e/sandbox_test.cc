// End-to-end: the runner puts the agent and every verifier run in the sandbox, records the
// isolation each job got, and runs plain processes only when asked with --sandbox=none.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;

// A repository whose test passes only where `secret` (a path outside the workspace) cannot be
// seen: its baseline is green in a sandbox and red without one.
std::map<std::string, std::string> HiddenFiles(const std::filesystem::path& secret) {
  return {{"Makefile", "test:\n\ttest ! -e '" + secret.string() + "'\n"},
          {"version.txt", "v1\n"}};
}

Json SandboxedExchanges(const std::filesystem::path& secret) {
  // What the agent's command sees comes back to the model; the cassette checks it.
  std::string probe = "cat '" + secret.string() +
                      "' 2>/dev/null || echo SECRET-HIDDEN; echo HOME=$HOME; "
                      // Lands in the sandbox's private /tmp at most, never on the host.
                      "echo escape > '" + secret.string() + ".planted' 2>/dev/null; "
                      "tr '\\0' ' ' < /proc/1/cmdline; echo";
  return Json::array(
      {Call("run", {{"command", probe}}, "Looking around."),
       Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}, "Moving to v2.",
            {"SECRET-HIDDEN", "HOME=/tmp", "agent --task"}),
       Call("finish", {{"summary", "Moved version.txt to v2."}}, "Done.")});
}

TEST(Sandbox, AgentAndVerifiersRunIsolatedAndTheJobSaysSo) {
  Fixture fx;
  auto secret = fx.root() / "runner-secret.txt";
  drover::testing::WriteTestFile(fx.root(), "runner-secret.txt", "RUNNER-ONLY\n");
  fx.AddRepo("hidden", HiddenFiles(secret));
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("hidden", SandboxedExchanges(secret));
  DroverRun run = fx.Run();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  std::string isolation = job.value("isolation", "");
  EXPECT_FALSE(isolation.empty());
  EXPECT_FALSE(isolation.starts_with("none")) << isolation;
  EXPECT_EQ(run.summary.value("isolation", ""), isolation);
  EXPECT_FALSE(std::filesystem::exists(secret.string() + ".planted"));
  EXPECT_EQ(ReadTestFile(secret), "RUNNER-ONLY\n");
  std::string job_json = ReadTestFile(run.run_dir / "jobs/hidden/job.json");
  EXPECT_NE(job_json.find("\"isolation\""), std::string::npos) << job_json;
}

TEST(Sandbox, NoneRunsPlainProcessesAndSaysSo) {
  Fixture fx;
  auto secret = fx.root() / "runner-secret.txt";
  drover::testing::WriteTestFile(fx.root(), "runner-secret.txt", "RUNNER-ONLY\n");
  fx.AddRepo("hidden", HiddenFiles(secret));
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("hidden", Json::array());
  DroverRun run = fx.Run({}, {"--sandbox", "none"});
  // Without the sandbox the runner's file is visible, so the baseline is red.
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "skipped") << job.dump(2);
  EXPECT_EQ(job.value("isolation", ""), "none (--sandbox=none)");
  EXPECT_NE(run.output.find("--sandbox=none"), std::string::npos) << run.output;
}

TEST(Sandbox, UnknownSandboxModeIsAUsageError) {
  Fixture fx;
  fx.AddRepo("hidden", {{"Makefile", "test:\n\ttrue\n"}});
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({}, {"--sandbox", "off"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
}

}  // namespace
}  // namespace drover::e2e
