// End-to-end: budgets and shared capacity under an agent that works against them. A process
// inside the sandbox flooding its gateway socket stays within the job's limits, and a job
// waiting for a build slot another job holds is not stopped by its wall-clock limit for it.
#include <gtest/gtest.h>

#include <string>

#include "core/json.h"
#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::ScriptedModelServer;

std::string Spec(const std::string& limits) {
  return "---\n"
         "id: bump-version\n"
         "title: Bump the version\n"
         "verifiers:\n"
         "  - name: test\n"
         "    command: make -s test\n"
         "    timeout: 60\n"
         "limits:\n" +
         limits +
         "---\n"
         "Write v2 into version.txt.\n";
}

agent::ModelReply Reply(std::string text, const std::string& tool, const Json& arguments) {
  agent::ModelReply reply;
  reply.text = std::move(text);
  if (!tool.empty()) reply.tool_calls.push_back({"call_" + tool, tool, arguments.dump()});
  reply.usage = {400, 100, 0};
  return reply;
}

TEST(Budget, AProcessFloodingTheGatewaySocketStaysWithinTheJobsLimits) {
  // The agent runs a command that finds its gateway socket and sends it 40 model requests at
  // once, each asking for 100000 output tokens.
  const std::string flood =
      "S=$(grep -o '[^ ]*\\.sock' /proc/self/mountinfo | head -n 1); echo \"socket $S\"; "
      "seq 40 | xargs -P 40 -I N curl -s -o /dev/null -w 'status %{http_code}\\n' "
      "--unix-socket \"$S\" -H 'content-type: application/json' "
      "-d '{\"model\": \"m\", \"max_tokens\": 100000, \"messages\": "
      "[{\"role\": \"user\", \"content\": \"flood N\"}]}' "
      "http://gateway/v1/chat/completions | sort | uniq -c";
  ScriptedModelServer server;
  server.AddReply(Reply("Flooding.", "run", {{"command", flood}}));
  // Every reply reports 500 tokens: 3000 leave room for six upstream calls in all.
  for (int i = 0; i < 60; ++i) server.AddReply(Reply("ok", "", Json::object()));

  Fixture fx;
  fx.AddRepo("flood", {{"Makefile", "test:\n\ttrue\n"}, {"version.txt", "v1\n"}});
  fx.WriteSpec(
      Spec("  max_tokens: 3000\n  max_turns: 12\n  max_attempts: 1\n"
           "  max_output_tokens: 200\n  command_timeout_seconds: 60\n"));
  DroverRun run = fx.Run({{"DROVER_MODEL", "openai:test-model"},
                          {"OPENAI_API_KEY", "sk-test-flood-0123456789"},
                          {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}});
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);

  // The flood did reach the gateway, and most of it was refused there.
  std::string transcript = ReadTestFile(run.run_dir / "jobs/flood/attempt-1/transcript.jsonl");
  EXPECT_NE(transcript.find(".sock"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("status 403"), std::string::npos) << transcript;

  // What the job used, as job.json and the summary record it, is within its limit, and the
  // upstream saw no more calls than the limit allows (500 tokens each).
  auto recorded = ParseJson(ReadTestFile(run.run_dir / "jobs/flood/job.json"), "job.json");
  ASSERT_TRUE(recorded.has_value());
  const Json& stored = *recorded;
  for (const Json* usage : {&job, &stored}) {
    int64_t tokens =
        (*usage)["input_tokens"].get<int64_t>() + (*usage)["output_tokens"].get<int64_t>();
    EXPECT_GT(tokens, 0) << usage->dump(2);
    EXPECT_LE(tokens, 3000) << usage->dump(2);
  }
  auto requests = server.requests();
  EXPECT_GE(requests.size(), 2u);
  EXPECT_LE(requests.size(), 6u);
  for (const auto& request : requests) {
    auto body = ParseJson(request.body, "upstream request");
    ASSERT_TRUE(body.has_value());
    EXPECT_LE((*body).value("max_tokens", int64_t{0}), 200) << request.body;
  }
}

// One build slot; the hog's first command holds it for 9 s. The other job, whose wall-clock
// limit is 10 s, waits about that long for a slot (for its own 4 s command or for its verify,
// whichever job the slot went to first), so its attempt lasts 13 s, and it still finishes: the
// wait is not its time.
TEST(Budget, WaitingForABuildSlotDoesNotCountAgainstTheWallClockLimit) {
  Fixture fx;
  fx.AddRepo("hog", {{"Makefile", "test:\n\ttrue\n"}, {"version.txt", "v1\n"}});
  fx.AddRepo("patient", {{"Makefile", "test:\n\ttrue\n"}, {"version.txt", "v1\n"}});
  fx.WriteCassette("hog", Json::array({Call("run", {{"command", "sleep 9"}}),
                                       Call("finish", {{"summary", "Held the slot."}})}));
  fx.WriteCassette(
      "patient",
      Json::array({Call("run", {{"command", "sleep 4"}}),
                   Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
                   Call("verify", Json::object()), Call("finish", {{"summary", "Bumped."}})}));
  fx.WriteSpec(
      Spec("  max_wall_seconds: 10\n  command_timeout_seconds: 30\n"
           "  max_attempts: 1\n"));
  DroverRun run = fx.Run({}, {"--agents", "2", "--builds", "1"});
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json* patient = nullptr;
  for (const auto& job : run.summary["jobs"]) {
    if (job["repository"] == "patient") patient = &job;
  }
  ASSERT_NE(patient, nullptr) << run.summary.dump(2);
  EXPECT_EQ((*patient)["status"], "published") << run.summary.dump(2);
  // The patient job did wait: its attempt took longer than its limit.
  auto result =
      ParseJson(ReadTestFile(run.run_dir / "jobs/patient/attempt-1/result.json"), "result.json");
  ASSERT_TRUE(result.has_value());
  EXPECT_GT((*result)["wall_seconds"].get<double>(), 12.0) << result->dump(2);
  // The gateway measured the wait, and the job's record shows it.
  EXPECT_GT((*patient)["capacity_wait_seconds"].get<double>(), 7.0) << patient->dump(2);
  EXPECT_LT((*patient)["capacity_wait_seconds"].get<double>(), 12.0) << patient->dump(2);
}

}  // namespace
}  // namespace drover::e2e
