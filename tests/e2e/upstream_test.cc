// End-to-end with a real upstream: the built drover binary, its gateway, and a scripted model
// server on loopback speaking the provider's protocol.
#include <gtest/gtest.h>

#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::ScriptedModelServer;

constexpr char kSecret[] = "sk-test-9f8e7d6c5b4a3f2e1d0c";

std::map<std::string, std::string> RepoFiles() {
  return {{"Makefile", "test:\n\ttrue\n"}, {"README.md", "nothing to migrate\n"}};
}

agent::ModelReply ToolReply(const std::string& name, const Json& arguments) {
  agent::ModelReply reply;
  reply.tool_calls.push_back({"call_" + name, name, arguments.dump()});
  reply.usage = {120, 30, 0};
  return reply;
}

// (f) The agent process never sees an API key; the gateway adds it upstream.
class KeyIsolation : public ::testing::TestWithParam<std::string> {};

TEST_P(KeyIsolation, KeyNeverReachesTheAgent) {
  const std::string provider = GetParam();
  ScriptedModelServer server;
  server.AddReply(ToolReply("run", {{"command", "env; cat /proc/self/environ | tr '\\0' '\\n'"}}));
  server.AddReply(ToolReply("finish", {{"summary", "n/a"},
                                       {"not_applicable_reason", "Environment check only."}}));
  Fixture fx;
  fx.AddRepo("svc", RepoFiles());
  fx.WriteSpec(StandardSpec());
  std::map<std::string, std::string> env;
  if (provider == "openai") {
    env = {{"DROVER_MODEL", "openai:test-model"},
           {"OPENAI_API_KEY", kSecret},
           {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}};
  } else {
    env = {{"DROVER_MODEL", "anthropic:test-model"},
           {"ANTHROPIC_API_KEY", kSecret},
           {"ANTHROPIC_BASE_URL", server.AnthropicBaseUrl()}};
  }
  DroverRun run = fx.Run(env);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& request : requests) {
    if (provider == "openai") {
      EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + kSecret);
    } else {
      EXPECT_EQ(request.headers.at("x-api-key"), kSecret);
    }
  }
  // The second request carries the output of `env` run by the agent: the command ran, and
  // no key or key name was in its environment.
  const std::string& body = requests[1].body;
  EXPECT_NE(body.find("PATH="), std::string::npos) << body;
  EXPECT_EQ(body.find(kSecret), std::string::npos);
  EXPECT_EQ(body.find("API_KEY"), std::string::npos) << body;
  EXPECT_EQ(body.find("DROVER_MODEL"), std::string::npos) << body;

  // Nothing the run wrote holds the key.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(fx.root() / "state")) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(ReadTestFile(entry.path()).find(kSecret), std::string::npos) << entry.path();
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, KeyIsolation, ::testing::Values("openai", "anthropic"));

// A model server answering garbage: the job fails saying so, and the run ends cleanly.
TEST(Upstream, GarbageRepliesFailTheJobWithAReason) {
  ScriptedModelServer server;
  for (int i = 0; i < 10; ++i) server.AddResponse(HttpResponse{200, {}, "<html>not json</html>"});
  Fixture fx;
  fx.AddRepo("svc", RepoFiles());
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({{"DROVER_MODEL", "openai:test-model"},
                          {"OPENAI_API_KEY", kSecret},
                          {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed");
  EXPECT_NE(job["reason"].get<std::string>().find("model"), std::string::npos) << job.dump(2);
  EXPECT_EQ(job["failure_kind"], "model_error");
}

// A run against a real upstream, recorded with --record, replays to the same result.
TEST(Upstream, RecordedRunReplaysTheSame) {
  ScriptedModelServer server;
  server.AddReply(ToolReply("write_file", {{"path", "NOTES.md"}, {"content", "migrated\n"}}));
  server.AddReply(ToolReply("verify", Json::object()));
  server.AddReply(ToolReply("finish", {{"summary", "Added NOTES.md."}}));
  Fixture fx;
  fx.AddRepo("svc", RepoFiles());
  fx.WriteSpec(StandardSpec());
  std::filesystem::path recorded = fx.root() / "recorded";
  DroverRun live = fx.Run({{"DROVER_MODEL", "anthropic:test-model"},
                           {"ANTHROPIC_API_KEY", kSecret},
                           {"ANTHROPIC_BASE_URL", server.AnthropicBaseUrl()}},
                          {"--record", recorded.string()});
  ASSERT_EQ(live.exit_code, 0) << live.output;
  ASSERT_TRUE(std::filesystem::exists(recorded / "svc.json")) << live.output;
  EXPECT_EQ(ReadTestFile(recorded / "svc.json").find(kSecret), std::string::npos);

  DroverRun replayed = fx.Run({{"DROVER_MODEL", "replay:" + recorded.string()}});
  ASSERT_EQ(replayed.exit_code, 0) << replayed.output;
  const Json& a = live.summary["jobs"][0];
  const Json& b = replayed.summary["jobs"][0];
  EXPECT_EQ(a["status"], "published");
  EXPECT_EQ(b["status"], "published");
  EXPECT_EQ(a["turns"], b["turns"]);
  EXPECT_EQ(a["input_tokens"], b["input_tokens"]);
  EXPECT_EQ(ReadTestFile(live.run_dir / "jobs" / "svc" / "pr.patch"),
            ReadTestFile(replayed.run_dir / "jobs" / "svc" / "pr.patch"));
  EXPECT_EQ(server.requests().size(), 3u);
}

// An unreachable model: the gateway's bounded retries, then one failed attempt that says so
// (a second attempt would only meet the same error).
TEST(Upstream, UnreachableModelFailsTheJobAfterBoundedRetries) {
  Fixture fx;
  fx.AddRepo("svc", RepoFiles());
  fx.WriteSpec(StandardSpec(/*max_attempts=*/3));
  // Port 9 (discard) on loopback: nothing listens there on a test machine.
  DroverRun run = fx.Run({{"DROVER_MODEL", "openai:test-model"},
                          {"OPENAI_API_KEY", kSecret},
                          {"OPENAI_BASE_URL", "http://127.0.0.1:9/v1"}});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed");
  EXPECT_EQ(job["attempts"], 1);
  EXPECT_NE(job["reason"].get<std::string>().find("model unreachable"), std::string::npos)
      << job.dump(2);
}

}  // namespace
}  // namespace drover::e2e
