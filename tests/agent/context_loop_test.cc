// The agent loop over real HTTP (the scripted model server) with a small context window: a
// long session stays inside the window, and every request still carries the task and the
// latest verifier report.
#include <sstream>

#include "agent/agent.h"
#include "llm/http_model_client.h"
#include "llm/protocol.h"
#include "tests/testing/model_server.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;
using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

constexpr int64_t kWindow = 8000;
constexpr int kReads = 24;
// In the verifier's output but not in its command (which the task message shows).
constexpr std::string_view kReportMarker = "MARKER-7731";

class ContextLoopTest : public ::testing::TestWithParam<Provider> {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "repo";
    std::string big;
    for (int i = 1; i <= 3000; ++i) {
      big += "def function_" + std::to_string(i) + "(x):  # some code worth reading\n";
    }
    WriteTestFile(root_, "big.py", big);
    task_.migration_id = "mark-done";
    task_.title = "Create done.txt after reading big.py";
    task_.instructions = "Read big.py, then create done.txt.";
    task_.repository = "big";
    task_.workspace = root_;
    task_.model = "test-model";
    task_.provider = GetParam();
    task_.verifiers = {{"test",
                        "m=MARK; test -f done.txt || { echo \"error: ${m}ER-7731 done.txt is "
                        "missing\"; exit 1; }",
                        std::chrono::seconds(30)}};
    task_.limits.max_turns = 100;
    task_.limits.context_window_tokens = kWindow;
    task_.limits.max_output_tokens = 1000;
    task_.limits.max_tool_output_tokens = 1000;
    // The window arithmetic below counts the task message without a repo map.
    task_.limits.repo_map_tokens = 0;
    processes_ = sandbox::MakeLocalProcessRunner();
  }

  void Script() {
    int call = 0;
    auto reply = [&](const std::string& tool, const Json& args) {
      ModelReply r;
      r.tool_calls.push_back({"call_" + std::to_string(++call), tool, args.dump()});
      r.usage = {1000, 10, 0};
      server_.AddReply(r);
    };
    reply("verify", Json::object());
    for (int i = 0; i < kReads; ++i)
      reply("read_file", {{"path", "big.py"}, {"start_line", 1 + i * 100}});
    reply("write_file", {{"path", "done.txt"}, {"content", "done\n"}});
    reply("verify", Json::object());
    for (int i = 0; i < 6; ++i)
      reply("read_file", {{"path", "big.py"}, {"start_line", 2 + i * 100}});
    reply("finish", {{"summary", "Created done.txt."}});
  }

  AgentOutcome RunAgent() {
    HttpModelClientOptions options;
    options.provider = GetParam();
    options.base_url =
        GetParam() == Provider::kAnthropic ? server_.AnthropicBaseUrl() : server_.OpenAiBaseUrl();
    options.timeout = std::chrono::seconds(10);
    HttpModelClient client(options, *http_);
    Transcript transcript(tmp_.path() / "transcript.jsonl", Redactor());
    Agent agent(task_, client, *processes_, transcript,
                sandbox::BaseEnvironment(sandbox::CurrentEnvironment()));
    return agent.Run();
  }

  // The text of every message of request `body`, joined.
  std::string AllText(const std::string& body) {
    auto request = DecodeRequest(GetParam(), body);
    EXPECT_TRUE(request.has_value());
    std::string text;
    if (request) {
      for (const auto& m : request->messages) text += m.text + "\n";
    }
    return text;
  }

  std::vector<Json> ContextEvents() {
    std::vector<Json> events;
    std::istringstream in(ReadTestFile(tmp_.path() / "transcript.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      auto event = ParseJson(line, "transcript");
      if (event && (*event)["type"] == "context") events.push_back(*event);
    }
    return events;
  }

  TempDir tmp_;
  fs::path root_;
  AgentTask task_;
  testing::ScriptedModelServer server_;
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
  std::unique_ptr<sandbox::ProcessRunner> processes_;
};

TEST_P(ContextLoopTest, LongSessionStaysInTheWindowWithTaskAndLatestReport) {
  Script();
  AgentOutcome outcome = RunAgent();
  ASSERT_EQ(outcome.status, AgentStatus::kFinished) << outcome.reason;
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u + kReads + 1u + 6u + 1u);
  for (size_t i = 0; i < requests.size(); ++i) {
    // The gateway's estimate of the whole request (tools included) leaves room for the reply.
    EXPECT_LE(static_cast<int64_t>(requests[i].body.size()) / 4,
              kWindow - task_.limits.max_output_tokens)
        << "request " << i;
    std::string text = AllText(requests[i].body);
    EXPECT_NE(text.find("Create done.txt after reading big.py"), std::string::npos) << i;
    EXPECT_NE(text.find("Read big.py, then create done.txt."), std::string::npos) << i;
    size_t passed_from = 2 + kReads + 1;  // The request after the second verify call.
    if (i >= 1 && i < passed_from) {
      EXPECT_NE(text.find(kReportMarker), std::string::npos) << "request " << i;
    }
    if (i >= passed_from) {
      EXPECT_NE(text.find("All verifiers passed"), std::string::npos) << "request " << i;
    }
  }
  auto events = ContextEvents();
  ASSERT_FALSE(events.empty());
  for (const auto& e : events) {
    EXPECT_LT(e["tokens_after"].get<int64_t>(), e["tokens_before"].get<int64_t>()) << e.dump();
  }
  // Steps are rare: most requests extend the one before.
  EXPECT_LE(events.size(), requests.size() / 3);
  EXPECT_EQ(ReadTestFile(root_ / "done.txt"), "done\n");
}

TEST_P(ContextLoopTest, WithoutManagementTheSameSessionOutgrowsTheWindow) {
  task_.limits.context_management = false;
  Script();
  AgentOutcome outcome = RunAgent();
  ASSERT_EQ(outcome.status, AgentStatus::kFinished) << outcome.reason;
  auto requests = server_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_GT(static_cast<int64_t>(requests.back().body.size()) / 4, 4 * kWindow);
  EXPECT_TRUE(ContextEvents().empty());
}

INSTANTIATE_TEST_SUITE_P(Providers, ContextLoopTest,
                         ::testing::Values(Provider::kOpenAiChat, Provider::kAnthropic),
                         [](const auto& param_info) {
                           return std::string(ProviderName(param_info.param));
                         });

}  // namespace
}  // namespace drover::agent
