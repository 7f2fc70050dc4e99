// End-to-end over the OpenAI Responses API: the built drover binary, its gateway streaming
// from a scripted model server on loopback, and the cached tokens reported per job.
#include <gtest/gtest.h>

#include "llm/protocol.h"
#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::ScriptedModelServer;

agent::ModelReply ToolReply(const std::string& name, const Json& arguments, int64_t cached) {
  agent::ModelReply reply;
  reply.tool_calls.push_back({"call_" + name, name, arguments.dump()});
  reply.usage = {2000, 30, cached};
  return reply;
}

TEST(Protocols, ResponsesApiRunPublishesAndReportsCachedTokens) {
  ScriptedModelServer server;
  server.AddReply(ToolReply("write_file", {{"path", "NOTES.md"}, {"content", "migrated\n"}}, 0));
  server.AddReply(ToolReply("verify", Json::object(), 1536));
  server.AddReply(ToolReply("finish", {{"summary", "Added NOTES.md."}}, 1792));
  Fixture fx;
  fx.AddRepo("svc", {{"Makefile", "test:\n\ttrue\n"}, {"README.md", "service\n"}});
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({{"DROVER_MODEL", "openai-responses:test-model"},
                          {"OPENAI_API_KEY", "sk-test-responses-0123456789"},
                          {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  EXPECT_EQ(job["cached_input_tokens"], 1536 + 1792);
  EXPECT_EQ(job["input_tokens"], 3 * 2000);
  EXPECT_NE(ReadTestFile(run.run_dir / "summary.md").find(std::to_string(1536 + 1792)),
            std::string::npos);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  std::string previous;
  for (const auto& request : requests) {
    EXPECT_EQ(request.path, "/v1/responses");
    Json body = Json::parse(request.body);
    EXPECT_EQ(body["store"], false);
    EXPECT_EQ(body["stream"], true);
    EXPECT_EQ(body["model"], "test-model");
    // Each turn resends the whole conversation, the earlier items unchanged.
    std::string input = body["input"].dump();
    if (!previous.empty()) {
      EXPECT_EQ(input.substr(0, previous.size() - 1), previous.substr(0, previous.size() - 1));
    }
    previous = input;
  }
  Json last = Json::parse(requests.back().body);
  bool saw_output = false;
  for (const auto& item : last["input"]) {
    if (item["type"] == "function_call_output" && item["call_id"] == "call_verify") {
      saw_output = true;
    }
  }
  EXPECT_TRUE(saw_output) << last.dump(2);
}

}  // namespace
}  // namespace drover::e2e
