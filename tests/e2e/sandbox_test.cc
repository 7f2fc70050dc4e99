// End-to-end: the runner puts the agent and every verifier run in the sandbox, records the
// isolation each job got, and runs plain processes only when asked with --sandbox=none.
#include <gtest/gtest.h>

#include "sandbox/process.h"
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

// The runner's own toolchains are shown to the agent, their credentials are not, and neither
// are the host's secrets: the agent's user owns nothing of the host.
TEST(Sandbox, ToolchainCredentialsAndHostSecretsStayOutOfTheAgentsView) {
  Fixture fx;
  auto home = fx.root() / "home";
  auto tool = [&](const std::string& path, const std::string& says) {
    drover::testing::WriteTestFile(home, path, "#!/bin/sh\necho " + says + "\n");
    std::filesystem::permissions(home / path, std::filesystem::perms::owner_all |
                                                  std::filesystem::perms::others_read |
                                                  std::filesystem::perms::others_exec);
  };
  tool(".cargo/bin/cargo", "CARGO-RUNS");
  drover::testing::WriteTestFile(home, ".cargo/credentials.toml", "token = \"PLANTED-CARGO\"\n");
  tool(".nvm/versions/node/v20.11.0/bin/node", "NODE-RUNS");
  drover::testing::WriteTestFile(home, ".nvm/versions/node/v20.11.0/etc/npmrc",
                                 "//registry.npmjs.org/:_authToken=PLANTED-NPM\n");
  std::string path = (home / ".cargo/bin").string() + ":" +
                     (home / ".nvm/versions/node/v20.11.0/bin").string() + ":/usr/bin:/bin";
  fx.AddRepo("hidden", {{"Makefile", "test:\n\ttrue\n"}, {"version.txt", "v1\n"}});
  fx.WriteSpec(StandardSpec());
  std::string look = "cargo; node; echo PLANTED-COUNT=$(cat '" +
                     (home / ".cargo/credentials.toml").string() + "' '" +
                     (home / ".nvm/versions/node/v20.11.0/etc/npmrc").string() +
                     "' 2>/dev/null | grep -c PLANTED); "
                     "echo SHADOW=$(cat /etc/shadow 2>/dev/null | wc -c) "
                     "PASSWD=$(stat -c %u /etc/passwd) ME=$(id -u)";
  fx.WriteCassette(
      "hidden",
      Json::array({Call("run", {{"command", look}}, "Looking around."),
                   Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}, "v2.",
                        {"CARGO-RUNS", "NODE-RUNS", "PLANTED-COUNT=0", "SHADOW=0", "PASSWD=65534",
                         "ME=1000"}),
                   Call("finish", {{"summary", "Moved version.txt to v2."}}, "Done.")}));
  DroverRun run = fx.Run({{"HOME", home.string()}, {"PATH", path}});
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2) << "\n" << run.output;
}

// What the agent writes into its attempt directory is on the host's disk too: past
// sandbox.disk_mb the sandbox is stopped, and the job says why.
TEST(Sandbox, AgentFillingItsAttemptDirectoryStopsAtTheDiskLimit) {
  Fixture fx;
  fx.AddRepo("filler", {{"Makefile", "test:\n\ttrue\n"}, {"version.txt", "v1\n"}});
  std::string spec = StandardSpec();
  spec.replace(spec.find("limits:\n"), 8, "sandbox:\n  disk_mb: 20\nlimits:\n");
  fx.WriteSpec(spec);
  // The attempt directory is where the agent's task file is.
  std::string fill =
      "d=$(dirname \"$(tr '\\0' '\\n' < /proc/1/cmdline | sed -n '/^--task$/{n;p}')\"); "
      "i=0; while [ $i -lt 400 ]; do head -c 1048576 /dev/zero > \"$d/fill$i\"; i=$((i+1)); "
      "done; echo FILLED";
  fx.WriteCassette("filler", Json::array({Call("run", {{"command", fill}}, "Filling."),
                                          Call("finish", {{"summary", "Filled."}}, "Done.")}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  EXPECT_NE(job.value("reason", "").find("agent stopped at the disk limit (20 MiB)"),
            std::string::npos)
      << job.dump(2);
  uintmax_t used = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(run.run_dir / "jobs/filler")) {
    if (entry.is_regular_file()) used += entry.file_size();
  }
  EXPECT_LT(used, 200u << 20) << "the attempt directory grew to " << used;
}

// A verifier run stopped at the disk limit says so, not "killed by signal 9".
TEST(Sandbox, VerifierStoppedAtTheDiskLimitSaysSo) {
  Fixture fx;
  fx.AddRepo("filler",
             {{"Makefile",
               "test:\n\ti=0; while [ $$i -lt 400 ]; do head -c 1048576 /dev/zero > fill$$i; "
               "i=$$((i+1)); done\n"},
              {"version.txt", "v1\n"}});
  std::string spec = StandardSpec();
  spec.replace(spec.find("limits:\n"), 8, "sandbox:\n  disk_mb: 20\nlimits:\n");
  fx.WriteSpec(spec);
  fx.WriteCassette("filler", Json::array());
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "skipped") << job.dump(2);
  std::string reason = job.value("reason", "");
  EXPECT_NE(reason.find("stopped at the disk limit (20 MiB)"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("signal 9"), std::string::npos) << reason;
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

// `drover sandbox --allow-host`: the command gets the proxy in its environment; an IP literal
// is refused before anything runs.
TEST(Sandbox, ManualSandboxWithAllowedHost) {
  drover::testing::TempDir dir;
  auto run = [&](const std::vector<std::string>& args) {
    sandbox::ProcessSpec spec;
    spec.argv = {DROVER_BINARY, "sandbox", "--writable", dir.path().string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
    auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
    EXPECT_TRUE(result.has_value());
    return result ? *result : sandbox::ProcessResult{};
  };
  auto allowed = run({"--allow-host", "pypi.org", "--", "sh", "-c", "echo proxy=$HTTPS_PROXY"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("proxy=http://127.0.0.1:3128"), std::string::npos)
      << allowed.output;
  auto literal = run({"--allow-host", "10.0.0.1", "--", "true"});
  EXPECT_EQ(literal.exit_code, 2) << literal.output;
  EXPECT_NE(literal.output.find("10.0.0.1"), std::string::npos) << literal.output;
  auto closed = run({"--", "sh", "-c", "echo proxy=$HTTPS_PROXY"});
  EXPECT_NE(closed.output.find("proxy=\n"), std::string::npos) << closed.output;
}

}  // namespace
}  // namespace drover::e2e
