// End-to-end model fallback: the built drover binary given two models, the first of which
// answers every request with a provider error; the job moves to the second, stays there, and
// its report names the model that served it.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::ScriptedModelServer;

agent::ModelReply ToolReply(const std::string& name, const Json& arguments) {
  agent::ModelReply reply;
  reply.tool_calls.push_back({"call_" + name, name, arguments.dump()});
  reply.usage = {150, 20, 0};
  return reply;
}

// The answer of an overloaded provider; retry-after 0 keeps the gateway's retries quick.
HttpResponse Overloaded() {
  HttpResponse response;
  response.status = 529;
  response.headers["content-type"] = "application/json";
  response.headers["retry-after"] = "0";
  response.body =
      R"({"type": "error", "error": {"type": "overloaded_error", "message": "model-a down"}})";
  return response;
}

TEST(Fallback, JobMovesToTheSecondModelAndReportsIt) {
  ScriptedModelServer server;
  server.FailModel("model-a", Overloaded());
  server.AddReply(ToolReply("write_file", {{"path", "NOTES.md"}, {"content", "migrated\n"}}));
  server.AddReply(ToolReply("verify", Json::object()));
  server.AddReply(ToolReply("finish", {{"summary", "Added NOTES.md."}}));
  Fixture fx;
  fx.AddRepo("svc", {{"Makefile", "test:\n\ttrue\n"}, {"README.md", "a service\n"}});
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({{"OPENAI_API_KEY", "sk-test-fallback-0123456789"},
                          {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}},
                         {"--model", "openai:model-a", "--model", "openai:model-b"});
  ASSERT_EQ(run.exit_code, 0) << run.output;

  Json job = Json::parse(ReadTestFile(run.run_dir / "jobs" / "svc" / "job.json"));
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  EXPECT_EQ(job["model"], "openai:model-b");
  EXPECT_GE(job["fallbacks"].get<int>(), 1);
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(run.summary["jobs"][0]["model"], "openai:model-b");
  EXPECT_NE(ReadTestFile(run.run_dir / "summary.md").find("openai:model-b (after 1 fallback)"),
            std::string::npos);

  // model-a had the first request and its retries; from the first request model-b saw on,
  // every request went to model-b.
  auto requests = server.requests();
  auto first_b = std::find_if(requests.begin(), requests.end(),
                              [](const auto& request) { return request.model == "model-b"; });
  ASSERT_NE(first_b, requests.end());
  EXPECT_GT(first_b - requests.begin(), 0);
  for (auto it = requests.begin(); it != first_b; ++it) EXPECT_EQ(it->model, "model-a");
  EXPECT_EQ(std::count_if(first_b, requests.end(),
                          [](const auto& request) { return request.model == "model-b"; }),
            3);
  EXPECT_EQ(requests.end() - first_b, 3);
  EXPECT_EQ(server.pending_steps(), 0u);
}

}  // namespace
}  // namespace drover::e2e
