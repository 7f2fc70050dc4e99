#include "agent/protocol.h"

#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

Message Msg(Role role, std::string text) { return Message{role, std::move(text), {}, "", false}; }

Message ToolResult(std::string id, std::string text, bool is_error = false) {
  return Message{Role::kTool, std::move(text), {}, std::move(id), is_error};
}

ModelRequest Conversation() {
  ModelRequest request;
  request.model = "test-model";
  request.max_output_tokens = 1234;
  request.messages.push_back(Msg(Role::kSystem, "You migrate code."));
  request.messages.push_back(Msg(Role::kUser, "Rename user_id."));
  Message assistant = Msg(Role::kAssistant, "Looking.");
  assistant.tool_calls.push_back({"call_1", "read_file", R"({"path":"a.py"})"});
  assistant.tool_calls.push_back({"call_2", "search", R"({"pattern":"user_id"})"});
  request.messages.push_back(assistant);
  request.messages.push_back(ToolResult("call_1", "print(user_id)"));
  request.messages.push_back(ToolResult("call_2", "regex error", true));
  Message only_calls = Msg(Role::kAssistant, "");
  only_calls.tool_calls.push_back({"call_3", "edit", R"({"path":"a.py","old":"user_id"})"});
  request.messages.push_back(only_calls);
  request.messages.push_back(ToolResult("call_3", "edited"));
  request.tools.push_back(
      {"read_file", "Reads a file", Json{{"type", "object"}, {"required", {"path"}}}});
  return request;
}

void ExpectSameMessages(const std::vector<Message>& got, const std::vector<Message>& want,
                        bool compare_is_error) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    EXPECT_EQ(got[i].role, want[i].role);
    EXPECT_EQ(got[i].text, want[i].text);
    EXPECT_EQ(got[i].tool_call_id, want[i].tool_call_id);
    if (compare_is_error) {
      EXPECT_EQ(got[i].is_error, want[i].is_error);
    }
    ASSERT_EQ(got[i].tool_calls.size(), want[i].tool_calls.size());
    for (size_t c = 0; c < want[i].tool_calls.size(); ++c) {
      EXPECT_EQ(got[i].tool_calls[c].id, want[i].tool_calls[c].id);
      EXPECT_EQ(got[i].tool_calls[c].name, want[i].tool_calls[c].name);
      EXPECT_EQ(Json::parse(got[i].tool_calls[c].arguments),
                Json::parse(want[i].tool_calls[c].arguments));
    }
  }
}

TEST(Protocol, PathsAndUrls) {
  EXPECT_EQ(RequestPath(Provider::kOpenAiChat), "/v1/chat/completions");
  EXPECT_EQ(RequestPath(Provider::kAnthropic), "/v1/messages");
  EXPECT_EQ(UpstreamUrl(Provider::kOpenAiChat, DefaultBaseUrl(Provider::kOpenAiChat)),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(UpstreamUrl(Provider::kAnthropic, DefaultBaseUrl(Provider::kAnthropic)),
            "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(UpstreamUrl(Provider::kOpenAiChat, "http://localhost:8080/v1/"),
            "http://localhost:8080/v1/chat/completions");
  EXPECT_EQ(UpstreamUrl(Provider::kAnthropic, "http://gateway//"), "http://gateway/v1/messages");
}

TEST(Protocol, OpenAiRequestWireShapeAndRoundTrip) {
  ModelRequest request = Conversation();
  Json body = EncodeRequest(Provider::kOpenAiChat, request);
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["max_tokens"], 1234);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][2]["tool_calls"][0]["type"], "function");
  EXPECT_EQ(body["messages"][2]["tool_calls"][0]["function"]["arguments"], R"({"path":"a.py"})");
  EXPECT_TRUE(body["messages"][5]["content"].is_null());
  EXPECT_EQ(body["messages"][3]["role"], "tool");
  EXPECT_EQ(body["messages"][3]["tool_call_id"], "call_1");
  EXPECT_EQ(body["tools"][0]["function"]["parameters"]["required"][0], "path");

  auto decoded = DecodeRequest(Provider::kOpenAiChat, body.dump());
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->model, "test-model");
  EXPECT_EQ(decoded->max_output_tokens, 1234);
  // Chat Completions has no field for a failed tool result.
  ExpectSameMessages(decoded->messages, request.messages, /*compare_is_error=*/false);
  ASSERT_EQ(decoded->tools.size(), 1u);
  EXPECT_EQ(decoded->tools[0].name, "read_file");
  EXPECT_EQ(decoded->tools[0].description, "Reads a file");
  EXPECT_EQ(decoded->tools[0].parameters, request.tools[0].parameters);
}

TEST(Protocol, AnthropicMergesToolResultsIntoOneUserMessage) {
  ModelRequest request = Conversation();
  Json body = EncodeRequest(Provider::kAnthropic, request);
  EXPECT_EQ(body["system"], "You migrate code.");
  EXPECT_EQ(body["max_tokens"], 1234);
  const Json& messages = body["messages"];
  // user, assistant, user(2 results), assistant, user(1 result): strictly alternating.
  ASSERT_EQ(messages.size(), 5u) << messages.dump(2);
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i]["role"], i % 2 == 0 ? "user" : "assistant");
  }
  const Json& results = messages[2]["content"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["type"], "tool_result");
  EXPECT_EQ(results[0]["tool_use_id"], "call_1");
  EXPECT_EQ(results[0]["content"], "print(user_id)");
  EXPECT_EQ(results[0]["is_error"], false);
  EXPECT_EQ(results[1]["is_error"], true);
  const Json& uses = messages[1]["content"];
  EXPECT_EQ(uses[0]["type"], "text");
  EXPECT_EQ(uses[1]["type"], "tool_use");
  EXPECT_EQ(uses[1]["input"], Json({{"path", "a.py"}}));
  EXPECT_EQ(body["tools"][0]["input_schema"]["type"], "object");

  auto decoded = DecodeRequest(Provider::kAnthropic, body.dump());
  ASSERT_OK(decoded);
  ExpectSameMessages(decoded->messages, request.messages, /*compare_is_error=*/true);
  EXPECT_EQ(decoded->tools[0].parameters, request.tools[0].parameters);
}

TEST(Protocol, AnthropicSendsEmptyInputForMalformedArguments) {
  ModelRequest request;
  request.messages.push_back(Msg(Role::kUser, "go"));
  Message assistant = Msg(Role::kAssistant, "");
  assistant.tool_calls.push_back({"call_1", "edit", "{not json"});
  assistant.tool_calls.push_back({"call_2", "run", "[1, 2]"});
  request.messages.push_back(assistant);
  request.messages.push_back(ToolResult("call_1", "arguments were not JSON", true));
  request.messages.push_back(ToolResult("call_2", "expected an object", true));
  request.messages.push_back(Msg(Role::kUser, "Please retry."));
  Json body = EncodeRequest(Provider::kAnthropic, request);
  const Json& messages = body["messages"];
  ASSERT_EQ(messages.size(), 3u) << messages.dump(2);
  EXPECT_EQ(messages[1]["content"][0]["input"], Json::object());
  EXPECT_EQ(messages[1]["content"][1]["input"], Json::object());
  // The trailing user note joins the tool results: roles must alternate.
  EXPECT_EQ(messages[2]["content"].size(), 3u);
  EXPECT_EQ(messages[2]["content"][2]["text"], "Please retry.");
}

TEST(Protocol, OpenAiReplyKeepsMalformedArgumentsRaw) {
  ModelReply reply;
  reply.tool_calls.push_back({"call_9", "edit", "{\"path\": \"a.py\", oops"});
  reply.usage = {1000, 50, 400};
  Json body = EncodeResponse(Provider::kOpenAiChat, "m", reply);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(body["choices"][0]["message"]["content"].is_null());
  auto decoded = DecodeResponse(Provider::kOpenAiChat, body.dump());
  ASSERT_OK(decoded);
  ASSERT_EQ(decoded->tool_calls.size(), 1u);
  EXPECT_EQ(decoded->tool_calls[0].arguments, "{\"path\": \"a.py\", oops");
  EXPECT_EQ(decoded->tool_calls[0].id, "call_9");
  EXPECT_EQ(decoded->text, "");
  EXPECT_EQ(decoded->stop_reason, "tool_calls");
  EXPECT_EQ(decoded->usage.input_tokens, 1000);
  EXPECT_EQ(decoded->usage.output_tokens, 50);
  EXPECT_EQ(decoded->usage.cached_input_tokens, 400);
}

TEST(Protocol, OpenAiProviderReplyDecodes) {
  // As the API documents it.
  std::string body = R"({
    "id": "chatcmpl-123", "object": "chat.completion", "created": 1, "model": "gpt-x",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
      "role": "assistant", "content": null, "refusal": null,
      "tool_calls": [{"id": "call_abc", "type": "function",
                      "function": {"name": "read_file", "arguments": "{\"path\":\"x.py\"}"}}]}}],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
              "prompt_tokens_details": {"cached_tokens": 64}}})";
  auto reply = DecodeResponse(Provider::kOpenAiChat, body);
  ASSERT_OK(reply);
  EXPECT_EQ(reply->tool_calls[0].name, "read_file");
  EXPECT_EQ(reply->tool_calls[0].arguments, R"({"path":"x.py"})");
  EXPECT_EQ(reply->usage.cached_input_tokens, 64);

  auto empty = DecodeResponse(
      Provider::kOpenAiChat,
      R"({"choices": [{"message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]})");
  ASSERT_OK(empty);
  EXPECT_EQ(empty->text, "");
  EXPECT_TRUE(empty->tool_calls.empty());
}

TEST(Protocol, AnthropicReplyRoundTripAndUsage) {
  ModelReply reply;
  reply.text = "I will read it.";
  reply.tool_calls.push_back({"toolu_1", "read_file", R"({"path":"a.py"})"});
  reply.usage = {1000, 50, 400};
  reply.stop_reason = "tool_calls";  // An OpenAI word is translated.
  Json body = EncodeResponse(Provider::kAnthropic, "claude-x", reply);
  EXPECT_EQ(body["stop_reason"], "tool_use");
  EXPECT_EQ(body["usage"]["input_tokens"], 600);
  EXPECT_EQ(body["usage"]["cache_read_input_tokens"], 400);
  EXPECT_EQ(body["content"][1]["input"]["path"], "a.py");
  auto decoded = DecodeResponse(Provider::kAnthropic, body.dump());
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->text, "I will read it.");
  EXPECT_EQ(decoded->tool_calls[0].id, "toolu_1");
  EXPECT_EQ(Json::parse(decoded->tool_calls[0].arguments), Json({{"path", "a.py"}}));
  EXPECT_EQ(decoded->usage.input_tokens, 1000);
  EXPECT_EQ(decoded->usage.cached_input_tokens, 400);
  EXPECT_EQ(decoded->stop_reason, "tool_use");
}

TEST(Protocol, DecodeErrors) {
  auto not_json = DecodeResponse(Provider::kOpenAiChat, "<html>502</html>");
  ASSERT_FALSE(not_json.has_value());
  EXPECT_EQ(not_json.error().code, ErrorCode::kParse);

  auto no_choices = DecodeResponse(Provider::kOpenAiChat, R"({"id": "x"})");
  ASSERT_FALSE(no_choices.has_value());
  EXPECT_EQ(no_choices.error().code, ErrorCode::kProtocol);
  EXPECT_NE(no_choices.error().message.find("choices"), std::string::npos);

  auto error_body = DecodeResponse(Provider::kAnthropic,
      R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})");
  ASSERT_FALSE(error_body.has_value());
  EXPECT_EQ(error_body.error().code, ErrorCode::kProtocol);
  EXPECT_NE(error_body.error().message.find("Overloaded"), std::string::npos);

  auto nameless = DecodeResponse(Provider::kAnthropic,
      R"({"content": [{"type": "tool_use", "id": "t", "input": {}}]})");
  ASSERT_FALSE(nameless.has_value());
  EXPECT_NE(nameless.error().message.find("content[0]"), std::string::npos);

  auto bad_role = DecodeRequest(Provider::kOpenAiChat,
                                R"({"messages": [{"role": "wizard", "content": "x"}]})");
  ASSERT_FALSE(bad_role.has_value());
  EXPECT_NE(bad_role.error().message.find("messages[0]"), std::string::npos);

  auto wrong_type = DecodeRequest(Provider::kAnthropic, R"({"messages": {"role": "user"}})");
  ASSERT_FALSE(wrong_type.has_value());
  EXPECT_EQ(wrong_type.error().code, ErrorCode::kProtocol);
}

TEST(Protocol, ErrorMessageFromBody) {
  EXPECT_EQ(ErrorMessageFromBody(R"({"error": {"message": "Invalid key", "type": "x"}})"),
            "Invalid key");
  EXPECT_EQ(ErrorMessageFromBody(
                R"({"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}})"),
            "Slow down");
  EXPECT_EQ(ErrorMessageFromBody("upstream connect error"), "upstream connect error");
  std::string long_body(5000, 'x');
  std::string message = ErrorMessageFromBody(long_body);
  EXPECT_LT(message.size(), 400u);
  EXPECT_TRUE(message.ends_with("..."));
  EXPECT_EQ(ErrorMessageFromBody(""), "(empty body)");
}

}  // namespace
}  // namespace drover::agent
