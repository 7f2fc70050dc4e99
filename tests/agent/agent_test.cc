#include "agent/agent.h"

#include <deque>
#include <sstream>

#include "agent/tree_sitter_langs.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;
using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

// Replies from a script, in order; records every request. Runs out → kProtocol.
class ScriptedModel final : public ModelClient {
 public:
  Result<ModelReply> Complete(const ModelRequest& request) override {
    requests.push_back(request);
    if (script.empty()) return Fail(ErrorCode::kProtocol, "script exhausted");
    Result<ModelReply> next = std::move(script.front());
    script.pop_front();
    return next;
  }

  void Reply(const std::string& tool, const Json& arguments, int64_t tokens = 100) {
    Raw(tool, arguments.dump(), tokens);
  }
  void Raw(const std::string& tool, const std::string& arguments, int64_t tokens = 100) {
    ModelReply reply;
    reply.tool_calls.push_back({"call_" + std::to_string(script.size()), tool, arguments});
    reply.usage = {tokens, tokens / 10, 0};
    script.emplace_back(std::move(reply));
  }
  void Text(const std::string& text) {
    ModelReply reply;
    reply.text = text;
    reply.usage = {10, 1, 0};
    script.emplace_back(std::move(reply));
  }
  void Error(ErrorCode code, const std::string& message) {
    script.emplace_back(std::unexpected(drover::Error{code, message, std::nullopt}));
  }

  std::deque<Result<ModelReply>> script;
  std::vector<ModelRequest> requests;
};

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "repo";
    WriteTestFile(root_, "pricing.py", "def compute_total(items):\n    return sum(items)\n");
    task_.migration_id = "rename-total";
    task_.title = "Rename compute_total to compute_sum";
    task_.instructions = "Rename `compute_total` to `compute_sum` everywhere.";
    task_.repository = "shop";
    task_.workspace = root_;
    task_.model = "test-model";
    task_.verifiers = {{"test", "! grep -rn compute_total .", std::chrono::seconds(30)}};
    processes_ = sandbox::MakeLocalProcessRunner();
  }

  AgentOutcome RunAgent(std::function<std::chrono::milliseconds()> capacity_wait = {}) {
    Transcript transcript(transcript_path(), Redactor());
    Agent agent(task_, model_, *processes_, transcript,
                sandbox::BaseEnvironment(sandbox::CurrentEnvironment()),
                std::move(capacity_wait));
    return agent.Run();
  }

  fs::path transcript_path() const { return tmp_.path() / "transcript.jsonl"; }

  std::vector<Json> Events() const {
    std::vector<Json> events;
    std::istringstream in(ReadTestFile(transcript_path()));
    std::string line;
    while (std::getline(in, line)) {
      auto event = ParseJson(line, "transcript");
      EXPECT_TRUE(event.has_value()) << line;
      if (event) events.push_back(*event);
    }
    return events;
  }

  // The last message the model saw in request `i`.
  const Message& LastMessage(size_t i) const { return model_.requests.at(i).messages.back(); }

  void ScriptSuccess() {
    model_.Reply("edit", {{"path", "pricing.py"},
                          {"search", "def compute_total(items):"},
                          {"replace", "def compute_sum(items):"}});
    model_.Reply("verify", Json::object());
    model_.Reply("finish", {{"summary", "Renamed compute_total."}});
  }

  TempDir tmp_;
  fs::path root_;
  AgentTask task_;
  ScriptedModel model_;
  std::unique_ptr<sandbox::ProcessRunner> processes_;
};

TEST_F(AgentTest, FinishesAfterEditAndVerify) {
  ScriptSuccess();
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFinished) << outcome.reason;
  EXPECT_FALSE(outcome.failure.has_value());
  EXPECT_EQ(outcome.summary, "Renamed compute_total.");
  EXPECT_EQ(outcome.turns, 3);
  EXPECT_EQ(outcome.tool_calls, 3);
  EXPECT_EQ(outcome.tool_errors, 0);
  EXPECT_EQ(outcome.usage.input_tokens, 300);
  EXPECT_EQ(ReadTestFile(root_ / "pricing.py"), "def compute_sum(items):\n    return sum(items)\n");

  // The first request: system prompt, then the task with title, instructions and checks.
  const auto& first = model_.requests.at(0);
  EXPECT_EQ(first.model, "test-model");
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_EQ(first.messages[0].role, Role::kSystem);
  EXPECT_NE(first.messages[0].text.find("not_applicable_reason"), std::string::npos);
  EXPECT_NE(first.messages[1].text.find("Rename compute_total to compute_sum"), std::string::npos);
  EXPECT_NE(first.messages[1].text.find("`! grep -rn compute_total .`"), std::string::npos);
  EXPECT_EQ(first.tools.size(), Tools::Schemas().size());
  // Tool results answer their calls by id.
  EXPECT_EQ(LastMessage(1).role, Role::kTool);
  EXPECT_EQ(LastMessage(1).tool_call_id, "call_0");
  EXPECT_NE(LastMessage(2).text.find("test: passed"), std::string::npos) << LastMessage(2).text;

  auto events = Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["type"], "task");
  EXPECT_EQ(events.back()["type"], "outcome");
  EXPECT_EQ(events.back()["status"], "finished");
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e["type"]);
  EXPECT_EQ(std::count(types.begin(), types.end(), "model_request"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "verifier_report"), 1);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"], i + 1);
}

TEST_F(AgentTest, InvalidJsonArgumentsAreShownToTheModelAndTheRunGoesOn) {
  model_.Raw("edit", R"({"path": "pricing.py", )");
  ScriptSuccess();
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFinished) << outcome.reason;
  EXPECT_EQ(outcome.tool_errors, 1);
  const Message& seen = LastMessage(1);
  EXPECT_EQ(seen.role, Role::kTool);
  EXPECT_TRUE(seen.is_error);
  EXPECT_NE(seen.text.find("invalid JSON in arguments of edit"), std::string::npos) << seen.text;
}

TEST_F(AgentTest, RepeatedMalformedRepliesFailCleanlyWithTheLastError) {
  model_.Raw("edit", "not json");
  model_.Reply("delete_everything", Json::object());
  model_.Raw("edit", "{");
  model_.Reply("finish", {{"summary", "never reached"}});
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(model_.requests.size(), 3u);
  EXPECT_EQ(outcome.reason.rfind("3 malformed or refused model replies in a row: invalid JSON in "
                                 "arguments of edit: ",
                                 0),
            0u)
      << outcome.reason;
  EXPECT_EQ(outcome.failure, AgentFailure::kMalformedReplies);
  EXPECT_EQ(Events().back()["type"], "outcome");
}

TEST_F(AgentTest, AGoodCallResetsTheMalformedCount) {
  model_.Raw("edit", "not json");
  model_.Reply("unknown_tool", Json::object());
  model_.Reply("list_files", Json::object());
  model_.Raw("edit", "not json");
  model_.Text("");
  model_.Reply("finish", {{"summary", "x"}, {"not_applicable_reason", "nothing uses it"}});
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kNotApplicable) << outcome.reason;
  EXPECT_EQ(outcome.reason, "nothing uses it");
}

TEST_F(AgentTest, UnknownToolIsAnErrorTheModelSees) {
  model_.Reply("delete_everything", {{"path", "."}});
  ScriptSuccess();
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFinished) << outcome.reason;
  EXPECT_NE(LastMessage(1).text.find("unknown tool 'delete_everything'"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "pricing.py"));
}

TEST_F(AgentTest, EmptyReplyGetsANudge) {
  model_.Text("");
  model_.Text("I think I should rename it.");
  ScriptSuccess();
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFinished) << outcome.reason;
  // The empty reply is not echoed back; the text-only one is, followed by the nudge.
  ASSERT_EQ(model_.requests.at(1).messages.size(), 3u);
  EXPECT_EQ(LastMessage(1).role, Role::kUser);
  EXPECT_NE(LastMessage(1).text.find("called no tool"), std::string::npos);
  ASSERT_EQ(model_.requests.at(2).messages.size(), 5u);
  EXPECT_EQ(model_.requests.at(2).messages[3].text, "I think I should rename it.");
}

TEST_F(AgentTest, FinishIsRefusedWhileTestsFail) {
  model_.Reply("edit", {{"path", "pricing.py"}, {"search", "sum(items)"}, {"replace", "0"}});
  for (int i = 0; i < 3; ++i) model_.Reply("finish", {{"summary", "Done."}});
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_NE(outcome.reason.find("in a row"), std::string::npos) << outcome.reason;
  // The checks stopped it, not the model's replies, and the reason says which.
  EXPECT_EQ(outcome.reason.rfind("the checks failed (finish refused", 0), 0u) << outcome.reason;
  EXPECT_EQ(outcome.reason.find("malformed"), std::string::npos) << outcome.reason;
  EXPECT_NE(outcome.reason.find("test: FAILED"), std::string::npos) << outcome.reason;
  EXPECT_EQ(outcome.failure, AgentFailure::kChecksFailed);
  EXPECT_NE(outcome.reason.find("failed"), std::string::npos) << outcome.reason;
  EXPECT_TRUE(LastMessage(2).is_error);
  EXPECT_NE(LastMessage(2).text.find("finish refused"), std::string::npos);
}

TEST_F(AgentTest, NotApplicableIsACleanOutcome) {
  model_.Reply("search", {{"pattern", "compute_total"}});
  model_.Reply("finish", {{"summary", "No change."},
                          {"not_applicable_reason", "The repository has no callers to update."}});
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kNotApplicable);
  EXPECT_EQ(outcome.reason, "The repository has no callers to update.");
  EXPECT_EQ(outcome.summary, "No change.");
  EXPECT_EQ(Events().back()["status"], "not_applicable");
}

TEST_F(AgentTest, TurnLimitIsCheckedBeforeEachModelCall) {
  task_.limits.max_turns = 2;
  for (int i = 0; i < 5; ++i)
    model_.Reply("read_file", {{"path", "pricing.py"}, {"start_line", i + 1}});
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(model_.requests.size(), 2u);
  EXPECT_EQ(outcome.turns, 2);
  EXPECT_NE(outcome.reason.find("turn limit"), std::string::npos) << outcome.reason;
  EXPECT_EQ(outcome.failure, AgentFailure::kLimit);
  bool limit_event = false;
  for (const auto& e : Events()) limit_event |= e["type"] == "limit" && e["limit"] == "turns";
  EXPECT_TRUE(limit_event);
}

TEST_F(AgentTest, TokenLimitIsCheckedBeforeEachModelCall) {
  task_.limits.max_tokens = 1000;
  for (int i = 0; i < 5; ++i) {
    model_.Reply("read_file", {{"path", "pricing.py"}, {"start_line", (i % 2) + 1}}, 500);
  }
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(model_.requests.size(), 2u);  // 550 after one call, 1100 after two.
  EXPECT_NE(outcome.reason.find("token limit reached: 1100 of 1000"), std::string::npos)
      << outcome.reason;
  EXPECT_EQ(outcome.failure, AgentFailure::kLimit);
}

TEST_F(AgentTest, WallClockLimitIsCheckedBeforeEachModelCall) {
  task_.limits.max_wall_seconds = 0;
  ScriptSuccess();
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_TRUE(model_.requests.empty());
  EXPECT_NE(outcome.reason.find("wall-clock limit"), std::string::npos) << outcome.reason;
}

// A 1.5 s command in a 1 s limit: counted in full it ends the attempt; when the gateway says
// the job waited a second of it for capacity during the attempt, the attempt goes on.
TEST_F(AgentTest, TimeWaitingForCapacityDoesNotCountAgainstTheWallClock) {
  task_.limits.max_wall_seconds = 1;
  auto script = [this](const std::string& command) {
    model_.requests.clear();
    model_.script.clear();
    model_.Reply("run", {{"command", command}});
    ScriptSuccess();
  };
  script("sleep 1.5");
  AgentOutcome counted = RunAgent();
  EXPECT_EQ(counted.status, AgentStatus::kFailed);
  EXPECT_NE(counted.reason.find("wall-clock limit"), std::string::npos) << counted.reason;
  EXPECT_EQ(model_.requests.size(), 1u);

  script("sleep 1.5");
  // 7 s had been waited before the attempt began, 8 s by now: 1 s of it in this attempt.
  int calls = 0;
  AgentOutcome waited = RunAgent([&calls] {
    return std::chrono::milliseconds(calls++ == 0 ? 7000 : 8000);
  });
  EXPECT_EQ(waited.status, AgentStatus::kFinished) << waited.reason;
  EXPECT_GE(calls, 2);

  // The exclusion is bounded by the limit itself: an attempt cannot wait its way on for ever.
  script("sleep 2.5");
  calls = 0;
  AgentOutcome bounded = RunAgent([&calls] {
    return std::chrono::milliseconds(calls++ == 0 ? 0 : 60000);
  });
  EXPECT_EQ(bounded.status, AgentStatus::kFailed);
  EXPECT_NE(bounded.reason.find("not counting 1s waiting for capacity"), std::string::npos)
      << bounded.reason;
}

TEST_F(AgentTest, BudgetExhaustedFromTheGatewayFails) {
  model_.Error(ErrorCode::kBudgetExhausted, "job spent 2000 of 2000 tokens");
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(outcome.reason, "token budget exhausted: job spent 2000 of 2000 tokens");
  EXPECT_EQ(outcome.failure, AgentFailure::kBudgetExhausted);
  EXPECT_EQ(model_.requests.size(), 1u);
}

// The gateway retries transient upstream errors; the agent adds no retries of its own, so a
// failing provider is tried max_attempts times in all, not multiplied per layer.
TEST_F(AgentTest, UnreachableModelFailsAtOnceWithItsErrorCode) {
  for (int i = 0; i < 4; ++i) model_.Error(ErrorCode::kUnavailable, "connection refused");
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(model_.requests.size(), 1u);
  EXPECT_EQ(outcome.model_error, "unavailable");
  EXPECT_EQ(outcome.failure, AgentFailure::kModelError);
  EXPECT_EQ(outcome.reason.rfind("model unreachable: ", 0), 0u) << outcome.reason;
  EXPECT_NE(outcome.reason.find("connection refused"), std::string::npos);
}

TEST_F(AgentTest, OwnFailuresCarryNoModelError) {
  for (int i = 0; i < 3; ++i) model_.Reply("no_such_tool", Json::object());
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_TRUE(outcome.model_error.empty()) << outcome.model_error;
  EXPECT_EQ(outcome.failure, AgentFailure::kMalformedReplies);
}

TEST_F(AgentTest, ProtocolErrorsFailAtOnce) {
  model_.Error(ErrorCode::kProtocol, "400 bad request: unknown field");
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(model_.requests.size(), 1u);
  EXPECT_NE(outcome.reason.find("400 bad request"), std::string::npos);
  EXPECT_EQ(outcome.failure, AgentFailure::kModelError);
}

TEST_F(AgentTest, RepeatedIdenticalCallsWarnThenFail) {
  for (int i = 0; i < 8; ++i) model_.Reply("read_file", {{"path", "pricing.py"}});
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(model_.requests.size(), 6u);
  EXPECT_NE(outcome.reason.find("stuck"), std::string::npos) << outcome.reason;
  EXPECT_EQ(outcome.failure, AgentFailure::kStuck);
  EXPECT_EQ(LastMessage(3).text.find("same call"), std::string::npos);
  EXPECT_NE(LastMessage(4).text.find("same call 4 times"), std::string::npos)
      << LastMessage(4).text;
}

TEST_F(AgentTest, PreviousAttemptFeedbackReachesTheTaskMessage) {
  task_.previous_attempt_feedback = "The previous attempt failed: test: FAILED exit 1";
  model_.Reply("finish", {{"summary", "x"}, {"not_applicable_reason", "y"}});
  RunAgent();
  EXPECT_NE(model_.requests.at(0).messages[1].text.find("test: FAILED exit 1"), std::string::npos);
}

TEST_F(AgentTest, MissingWorkspaceFailsWithAnOutcome) {
  task_.workspace = tmp_.path() / "nowhere";
  AgentOutcome outcome = RunAgent();
  EXPECT_EQ(outcome.status, AgentStatus::kFailed);
  EXPECT_EQ(outcome.failure, AgentFailure::kStart);
  EXPECT_NE(outcome.reason.find("workspace"), std::string::npos) << outcome.reason;
  EXPECT_TRUE(model_.requests.empty());
  EXPECT_EQ(Events().back()["type"], "outcome");
}

TEST_F(AgentTest, FirstPromptCarriesTheRepoMapWithinItsBudget) {
  WriteTestFile(root_, "cart.py",
                "from pricing import compute_total\n\n\ndef cart_value(items):\n"
                "    return compute_total(items)\n");
  WriteTestFile(root_, "README.md", "Totals come from compute_total in pricing.\n");
  WriteTestFile(root_, "shipping.py", "def ship(order):\n    return order\n");
  model_.Reply("finish", {{"summary", "x"}, {"not_applicable_reason", "looking only"}});
  RunAgent();
  std::string task_text = model_.requests.at(0).messages.at(1).text;
  size_t section = task_text.find("## Where the migration likely applies");
  ASSERT_NE(section, std::string::npos) << task_text;
  std::string map = task_text.substr(section);
  EXPECT_NE(map.find("README.md:\n  1: Totals come from compute_total in pricing.\n"),
            std::string::npos)
      << map;
  if (LanguageForPath("pricing.py") == "python") {
    EXPECT_NE(map.find("pricing.py:\n  1: def compute_total(items):\n"), std::string::npos) << map;
    EXPECT_NE(map.find("cart.py:\n"), std::string::npos) << map;
    EXPECT_LT(map.find("cart.py:\n"), map.find("shipping.py:\n")) << map;
  }

  // A small budget cuts the map; zero leaves the section out.
  task_.limits.repo_map_tokens = 12;
  model_.requests.clear();
  model_.Reply("finish", {{"summary", "x"}, {"not_applicable_reason", "looking only"}});
  RunAgent();
  std::string small = model_.requests.at(0).messages.at(1).text;
  const std::string intro = "(line: text):\n\n";
  section = small.find(intro);
  ASSERT_NE(section, std::string::npos) << small;
  EXPECT_LE(small.size() - section - intro.size(), 48u) << small;
  task_.limits.repo_map_tokens = 0;
  model_.requests.clear();
  model_.Reply("finish", {{"summary", "x"}, {"not_applicable_reason", "looking only"}});
  RunAgent();
  EXPECT_EQ(model_.requests.at(0).messages.at(1).text.find("likely applies"), std::string::npos);
}

TEST_F(AgentTest, TranscriptIsValidJsonlAndRedactsKeys) {
  std::string key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
  WriteTestFile(root_, "settings.py", "API_KEY = '" + key + "'\n");
  model_.script.emplace_back(ModelReply{"I found the key " + key + " in settings.py.",
                                        {{"c1", "read_file", R"({"path": "settings.py"})"}},
                                        {10, 5, 0},
                                        "tool_calls"});
  model_.Reply("finish", {{"summary", "x"}, {"not_applicable_reason", "no pricing here"}});
  RunAgent();
  std::string text = ReadTestFile(transcript_path());
  EXPECT_EQ(text.find(key), std::string::npos);
  EXPECT_NE(text.find("[REDACTED]"), std::string::npos);
  auto events = Events();  // Fails the test on any line that is not JSON.
  std::set<std::string> types;
  for (const auto& e : events) types.insert(e["type"]);
  EXPECT_EQ(types, (std::set<std::string>{"task", "repo_map", "model_request", "model_reply",
                                          "tool_call", "tool_result", "outcome"}));
}

TEST(AgentTaskJson, RoundTripsAndNamesBadFields) {
  AgentTask task;
  task.migration_id = "m";
  task.title = "T";
  task.instructions = "Do it.";
  task.repository = "repo";
  task.workspace = "/tmp/ws";
  task.verifiers = {{"test", "make test", std::chrono::seconds(60)}};
  task.limits.max_turns = 7;
  task.provider = Provider::kAnthropic;
  task.model = "claude";
  task.gateway_socket = "/run/g.sock";
  task.parse_cache_dir = "/state/cache/repomap/m";
  task.limits.repo_map_tokens = 0;
  task.previous_attempt_feedback = "fb";
  task.attempt = 2;
  auto back = AgentTaskFromJson(ToJson(task));
  ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back), ToJson(task));
  EXPECT_EQ(back->limits.max_turns, 7);
  EXPECT_EQ(back->limits.repo_map_tokens, 0);
  EXPECT_EQ(back->parse_cache_dir, "/state/cache/repomap/m");
  EXPECT_EQ(back->verifiers.at(0).timeout, std::chrono::seconds(60));

  Json missing = ToJson(task);
  missing.erase("title");
  auto no_title = AgentTaskFromJson(missing);
  ASSERT_FALSE(no_title.has_value());
  EXPECT_NE(no_title.error().message.find("task.title"), std::string::npos);
  Json mistyped = ToJson(task);
  mistyped["limits"]["max_turns"] = "ten";
  auto bad_limit = AgentTaskFromJson(mistyped);
  ASSERT_FALSE(bad_limit.has_value());
  EXPECT_NE(bad_limit.error().message.find("task.limits.max_turns"), std::string::npos);
  Json bad_verifier = ToJson(task);
  bad_verifier["verifiers"][0].erase("command");
  auto no_command = AgentTaskFromJson(bad_verifier);
  ASSERT_FALSE(no_command.has_value());
  EXPECT_NE(no_command.error().message.find("task.verifiers[0]"), std::string::npos);
}

TEST(AgentOutcomeJson, RoundTrips) {
  AgentOutcome outcome;
  outcome.status = AgentStatus::kNotApplicable;
  outcome.reason = "no callers";
  outcome.summary = "nothing";
  outcome.turns = 3;
  outcome.usage = {100, 20, 5};
  outcome.tool_calls = 4;
  outcome.tool_errors = 1;
  outcome.wall_seconds = 1.5;
  auto back = AgentOutcomeFromJson(ToJson(outcome));
  ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back), ToJson(outcome));
  EXPECT_EQ(AgentStatusName(back->status), "not_applicable");
  auto bad = AgentOutcomeFromJson(Json{{"status", "done"}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("outcome.status"), std::string::npos);
}

TEST(AgentOutcomeJson, CarriesWhatEndedAFailedAttempt) {
  AgentOutcome outcome;
  outcome.status = AgentStatus::kFailed;
  outcome.reason = "the checks failed (finish refused; 3 unusable calls in a row): test: FAILED";
  outcome.failure = AgentFailure::kChecksFailed;
  Json json = ToJson(outcome);
  EXPECT_EQ(json["failure_kind"], "checks_failed");
  auto back = AgentOutcomeFromJson(json);
  ASSERT_OK(back);
  EXPECT_EQ(back->failure, AgentFailure::kChecksFailed);
  for (AgentFailure failure : kAgentFailures) {
    outcome.failure = failure;
    auto again = AgentOutcomeFromJson(ToJson(outcome));
    ASSERT_OK(again);
    EXPECT_EQ(again->failure, failure) << AgentFailureName(failure);
  }

  json["failure_kind"] = "tired";
  auto unknown = AgentOutcomeFromJson(json);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("outcome.failure_kind"), std::string::npos)
      << unknown.error().message;

  // A result written before the field: its error code is what it has, never its reason.
  json.erase("failure_kind");
  auto old = AgentOutcomeFromJson(json);
  ASSERT_OK(old);
  EXPECT_EQ(old->failure, AgentFailure::kLimit);
  json["model_error"] = "budget_exhausted";
  EXPECT_EQ(AgentOutcomeFromJson(json)->failure, AgentFailure::kBudgetExhausted);
  json["model_error"] = "unavailable";
  EXPECT_EQ(AgentOutcomeFromJson(json)->failure, AgentFailure::kModelError);

  // Only a failed attempt has one.
  json["status"] = "finished";
  EXPECT_FALSE(AgentOutcomeFromJson(json)->failure.has_value());
}

}  // namespace
}  // namespace drover::agent
