#include "gateway/cassette.h"

#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

constexpr const char* kExample = R"({"drover_cassette": 1, "exchanges": [
  {"expect": {"last_message_contains": ["user_id", "rename"]},
   "reply": {"text": "Reading.",
             "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}},
                            {"name": "edit", "arguments_raw": "{not json"}],
             "usage": {"input_tokens": 1200, "output_tokens": 80}}},
  {"status": 503, "body": "overloaded", "headers": {"Retry-After": "1"}},
  {"reply": {"tool_calls": [{"id": "mine", "name": "finish"}]}}
]})";

std::string LoadError(const std::string& text) {
  testing::TempDir dir;
  testing::WriteTestFile(dir.path(), "bad.json", text);
  auto cassette = LoadCassette(dir / "bad.json");
  if (cassette) {
    ADD_FAILURE() << "expected a load error for: " << text;
    return "";
  }
  EXPECT_NE(cassette.error().message.find("bad.json"), std::string::npos)
      << cassette.error().message;
  return cassette.error().message;
}

agent::ModelRequest RequestEndingWith(std::vector<agent::Message> tail) {
  agent::ModelRequest request;
  request.messages.push_back({agent::Role::kSystem, "system text mentions user_id", {}, "", false});
  for (auto& message : tail) request.messages.push_back(std::move(message));
  return request;
}

TEST(Cassette, ParsesTheHandWrittenFormat) {
  auto cassette = ParseCassette(kExample, "example.json");
  ASSERT_OK(cassette);
  ASSERT_EQ(cassette->exchanges.size(), 3u);

  const CassetteExchange& first = cassette->exchanges[0];
  EXPECT_EQ(first.last_message_contains, (std::vector<std::string>{"user_id", "rename"}));
  ASSERT_TRUE(first.reply.has_value());
  EXPECT_FALSE(first.failure.has_value());
  EXPECT_TRUE(first.has_usage);
  EXPECT_EQ(first.reply->text, "Reading.");
  EXPECT_EQ(first.reply->usage.input_tokens, 1200);
  EXPECT_EQ(first.reply->usage.output_tokens, 80);
  ASSERT_EQ(first.reply->tool_calls.size(), 2u);
  EXPECT_EQ(first.reply->tool_calls[0].id, "call_1");
  EXPECT_EQ(Json::parse(first.reply->tool_calls[0].arguments), Json({{"path", "a.py"}}));
  EXPECT_EQ(first.reply->tool_calls[1].id, "call_2");
  EXPECT_EQ(first.reply->tool_calls[1].arguments, "{not json");

  const CassetteExchange& failure = cassette->exchanges[1];
  ASSERT_TRUE(failure.failure.has_value());
  EXPECT_EQ(failure.failure->status, 503);
  EXPECT_EQ(failure.failure->body, "overloaded");
  EXPECT_EQ(failure.failure->headers.at("retry-after"), "1");

  const CassetteExchange& last = cassette->exchanges[2];
  EXPECT_FALSE(last.has_usage);
  EXPECT_EQ(last.reply->tool_calls[0].id, "mine");
  EXPECT_EQ(last.reply->tool_calls[0].arguments, "{}");
}

TEST(Cassette, LoadErrorsNameFileExchangeAndField) {
  std::string missing_name = LoadError(
      R"({"drover_cassette": 1, "exchanges": [{"reply": {"text": "ok"}},
          {"reply": {"tool_calls": [{"arguments": {}}]}}]})");
  EXPECT_NE(missing_name.find("exchange 1: reply.tool_calls[0]: missing name"), std::string::npos)
      << missing_name;

  std::string typo = LoadError(R"({"drover_cassette": 1, "exchanges": [{"reply": {"txet": "x"}}]})");
  EXPECT_NE(typo.find("exchange 0: reply.txet: unknown field"), std::string::npos) << typo;

  std::string both = LoadError(
      R"({"drover_cassette": 1, "exchanges": [{"reply": {}, "status": 500}]})");
  EXPECT_NE(both.find("exchange 0"), std::string::npos) << both;

  std::string neither = LoadError(R"({"drover_cassette": 1, "exchanges": [{}]})");
  EXPECT_NE(neither.find("missing reply"), std::string::npos) << neither;

  std::string status = LoadError(R"({"drover_cassette": 1, "exchanges": [{"status": 42}]})");
  EXPECT_NE(status.find("exchange 0: status"), std::string::npos) << status;

  std::string arguments = LoadError(
      R"({"drover_cassette": 1, "exchanges": [{"reply": {"tool_calls": [{"name": "x", "arguments": "a"}]}}]})");
  EXPECT_NE(arguments.find("reply.tool_calls[0].arguments"), std::string::npos) << arguments;

  std::string usage = LoadError(
      R"({"drover_cassette": 1, "exchanges": [{"reply": {"usage": {"input_tokens": -3}}}]})");
  EXPECT_NE(usage.find("reply.usage.input_tokens"), std::string::npos) << usage;

  std::string version = LoadError(R"({"drover_cassette": 2, "exchanges": []})");
  EXPECT_NE(version.find("version"), std::string::npos) << version;

  testing::TempDir dir;
  testing::WriteTestFile(dir.path(), "broken.json", "{\"drover_cassette\": 1, ");
  auto broken = LoadCassette(dir / "broken.json");
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().code, ErrorCode::kParse);
  EXPECT_NE(broken.error().message.find("broken.json"), std::string::npos);

  auto missing = LoadCassette(dir / "absent.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(Cassette, SaveAndLoadRoundTrip) {
  auto original = ParseCassette(kExample, "example.json");
  ASSERT_OK(original);
  // Recordings always carry usage.
  original->exchanges[2].reply->usage = {10, 2, 1};
  original->exchanges[2].has_usage = true;
  original->exchanges[2].reply->stop_reason = "tool_calls";
  testing::TempDir dir;
  ASSERT_OK(SaveCassette(dir / "saved.json", *original));
  auto loaded = LoadCassette(dir / "saved.json");
  ASSERT_OK(loaded);
  ASSERT_EQ(loaded->exchanges.size(), original->exchanges.size());
  for (size_t i = 0; i < loaded->exchanges.size(); ++i) {
    SCOPED_TRACE("exchange " + std::to_string(i));
    const auto& a = original->exchanges[i];
    const auto& b = loaded->exchanges[i];
    EXPECT_EQ(a.last_message_contains, b.last_message_contains);
    ASSERT_EQ(a.failure.has_value(), b.failure.has_value());
    if (a.failure) {
      EXPECT_EQ(a.failure->status, b.failure->status);
      EXPECT_EQ(a.failure->body, b.failure->body);
      EXPECT_EQ(a.failure->headers, b.failure->headers);
      continue;
    }
    EXPECT_TRUE(b.has_usage);
    EXPECT_EQ(a.reply->text, b.reply->text);
    EXPECT_EQ(a.reply->stop_reason, b.reply->stop_reason);
    EXPECT_EQ(a.reply->usage.input_tokens, b.reply->usage.input_tokens);
    EXPECT_EQ(a.reply->usage.cached_input_tokens, b.reply->usage.cached_input_tokens);
    ASSERT_EQ(a.reply->tool_calls.size(), b.reply->tool_calls.size());
    for (size_t c = 0; c < a.reply->tool_calls.size(); ++c) {
      EXPECT_EQ(a.reply->tool_calls[c].id, b.reply->tool_calls[c].id);
      EXPECT_EQ(a.reply->tool_calls[c].name, b.reply->tool_calls[c].name);
      EXPECT_EQ(a.reply->tool_calls[c].arguments, b.reply->tool_calls[c].arguments);
    }
  }
  // Human-readable: malformed arguments are saved as raw text, the others as objects.
  std::string text = testing::ReadTestFile(dir / "saved.json");
  EXPECT_NE(text.find("\"arguments_raw\": \"{not json\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"path\": \"a.py\""), std::string::npos) << text;
}

TEST(Cassette, FindCassette) {
  testing::TempDir dir;
  testing::WriteTestFile(dir.path(), "events-py.json", kExample);
  auto found = FindCassette(dir.path(), "events-py");
  ASSERT_OK(found);
  EXPECT_EQ(*found, dir / "events-py.json");
  auto missing = FindCassette(dir.path(), "other-repo");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("other-repo"), std::string::npos);
  EXPECT_NE(missing.error().message.find(dir.path().string()), std::string::npos);
}

TEST(Cassette, ExpectationsLookAtTheLastMessageOrTrailingToolResults) {
  CassetteExchange exchange;
  exchange.last_message_contains = {"user_id"};
  auto user = RequestEndingWith({{agent::Role::kUser, "rename user_id please", {}, "", false}});
  EXPECT_FALSE(ExpectationMismatch(exchange, user).has_value());

  auto other = RequestEndingWith({{agent::Role::kUser, "something else", {}, "", false}});
  auto mismatch = ExpectationMismatch(exchange, other);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_NE(mismatch->find("\"user_id\""), std::string::npos) << *mismatch;
  EXPECT_NE(mismatch->find("something else"), std::string::npos) << *mismatch;

  agent::Message assistant{agent::Role::kAssistant, "user_id", {}, "", false};
  auto tools = RequestEndingWith({{agent::Role::kUser, "go", {}, "", false},
                                  assistant,
                                  {agent::Role::kTool, "first has user_id", {}, "c1", false},
                                  {agent::Role::kTool, "second result", {}, "c2", false}});
  EXPECT_FALSE(ExpectationMismatch(exchange, tools).has_value());
  exchange.last_message_contains = {"user_id", "second"};
  EXPECT_FALSE(ExpectationMismatch(exchange, tools).has_value());
  exchange.last_message_contains = {"assistant text is not a tool result"};
  EXPECT_TRUE(ExpectationMismatch(exchange, tools).has_value());
}

}  // namespace
}  // namespace drover::fleet
