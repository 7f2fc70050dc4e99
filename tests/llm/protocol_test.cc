#include "llm/protocol.h"

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

TEST(Protocol, ResponsesPathsAndNames) {
  EXPECT_EQ(RequestPath(Provider::kOpenAiResponses), "/v1/responses");
  EXPECT_EQ(UpstreamUrl(Provider::kOpenAiResponses, DefaultBaseUrl(Provider::kOpenAiResponses)),
            "https://api.openai.com/v1/responses");
  EXPECT_EQ(ProviderName(Provider::kOpenAiResponses), "openai-responses");
  auto parsed = ParseProvider("openai-responses");
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, Provider::kOpenAiResponses);
  auto unknown = ParseProvider("openai-chat");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("openai-responses"), std::string::npos);
}

TEST(Protocol, ResponsesRequestWireShapeAndRoundTrip) {
  ModelRequest request = Conversation();
  Json body = EncodeRequest(Provider::kOpenAiResponses, request);
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["max_output_tokens"], 1234);
  EXPECT_EQ(body["store"], false);
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_EQ(body["instructions"], "You migrate code.");
  const Json& input = body["input"];
  // user, assistant text, two calls, two outputs, one call, one output.
  ASSERT_EQ(input.size(), 8u);
  EXPECT_EQ(input[0]["type"], "message");
  EXPECT_EQ(input[0]["role"], "user");
  EXPECT_EQ(input[0]["content"][0]["type"], "input_text");
  EXPECT_EQ(input[1]["role"], "assistant");
  EXPECT_EQ(input[1]["content"][0]["type"], "output_text");
  EXPECT_EQ(input[2]["type"], "function_call");
  EXPECT_EQ(input[2]["call_id"], "call_1");
  EXPECT_EQ(input[2]["arguments"], R"({"path":"a.py"})");
  EXPECT_EQ(input[4]["type"], "function_call_output");
  EXPECT_EQ(input[4]["call_id"], "call_1");
  EXPECT_EQ(input[4]["output"], "print(user_id)");
  EXPECT_EQ(body["tools"][0]["type"], "function");
  EXPECT_EQ(body["tools"][0]["name"], "read_file");
  EXPECT_EQ(body["tools"][0]["parameters"]["required"][0], "path");

  auto decoded = DecodeRequest(Provider::kOpenAiResponses, body.dump());
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->model, "test-model");
  EXPECT_EQ(decoded->max_output_tokens, 1234);
  ExpectSameMessages(decoded->messages, request.messages, /*compare_is_error=*/false);
  ASSERT_EQ(decoded->tools.size(), 1u);
  EXPECT_EQ(decoded->tools[0].parameters, request.tools[0].parameters);

  request.stream = true;
  Json streamed = EncodeRequest(Provider::kOpenAiResponses, request);
  EXPECT_EQ(streamed["stream"], true);
  auto again = DecodeRequest(Provider::kOpenAiResponses, streamed.dump());
  ASSERT_OK(again);
  EXPECT_TRUE(again->stream);
}

TEST(Protocol, ResponsesRequestShorthands) {
  auto text_input = DecodeRequest(Provider::kOpenAiResponses,
                                  R"({"model": "m", "input": "Say hi"})");
  ASSERT_OK(text_input);
  ASSERT_EQ(text_input->messages.size(), 1u);
  EXPECT_EQ(text_input->messages[0].role, Role::kUser);
  EXPECT_EQ(text_input->messages[0].text, "Say hi");

  auto typeless = DecodeRequest(Provider::kOpenAiResponses, R"({
    "model": "m",
    "input": [{"role": "developer", "content": "Be brief."},
              {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
              {"type": "reasoning", "id": "rs_1", "summary": []}]})");
  ASSERT_OK(typeless);
  ASSERT_EQ(typeless->messages.size(), 2u);
  EXPECT_EQ(typeless->messages[0].role, Role::kSystem);
  EXPECT_EQ(typeless->messages[1].text, "Hi");

  auto no_call_id = DecodeRequest(Provider::kOpenAiResponses,
      R"({"input": [{"type": "function_call_output", "output": "x"}]})");
  ASSERT_FALSE(no_call_id.has_value());
  EXPECT_EQ(no_call_id.error().code, ErrorCode::kProtocol);
  EXPECT_NE(no_call_id.error().message.find("input[0]"), std::string::npos);

  auto no_input = DecodeRequest(Provider::kOpenAiResponses, R"({"model": "m"})");
  ASSERT_FALSE(no_input.has_value());
  EXPECT_NE(no_input.error().message.find("input"), std::string::npos);
}

TEST(Protocol, ResponsesReplyRoundTripAndUsage) {
  ModelReply reply;
  reply.text = "Reading.";
  reply.tool_calls.push_back({"call_9", "read_file", R"({"path":"a.py"})"});
  reply.usage = {1000, 50, 768};
  Json body = EncodeResponse(Provider::kOpenAiResponses, "gpt-x", reply);
  EXPECT_EQ(body["object"], "response");
  EXPECT_EQ(body["status"], "completed");
  EXPECT_EQ(body["output"][0]["type"], "message");
  EXPECT_EQ(body["output"][1]["type"], "function_call");
  EXPECT_EQ(body["output"][1]["call_id"], "call_9");
  EXPECT_EQ(body["usage"]["input_tokens_details"]["cached_tokens"], 768);
  auto decoded = DecodeResponse(Provider::kOpenAiResponses, body.dump());
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->text, "Reading.");
  ASSERT_EQ(decoded->tool_calls.size(), 1u);
  EXPECT_EQ(decoded->tool_calls[0].id, "call_9");
  EXPECT_EQ(decoded->tool_calls[0].arguments, R"({"path":"a.py"})");
  EXPECT_EQ(decoded->usage.input_tokens, 1000);
  EXPECT_EQ(decoded->usage.output_tokens, 50);
  EXPECT_EQ(decoded->usage.cached_input_tokens, 768);
  EXPECT_EQ(decoded->stop_reason, "tool_calls");

  ModelReply cut;
  cut.text = "Half";
  cut.stop_reason = "max_tokens";
  Json incomplete = EncodeResponse(Provider::kOpenAiResponses, "gpt-x", cut);
  EXPECT_EQ(incomplete["status"], "incomplete");
  EXPECT_EQ(incomplete["incomplete_details"]["reason"], "max_output_tokens");
  auto cut_decoded = DecodeResponse(Provider::kOpenAiResponses, incomplete.dump());
  ASSERT_OK(cut_decoded);
  EXPECT_EQ(cut_decoded->stop_reason, "length");
}

TEST(Protocol, ResponsesProviderReplyDecodes) {
  // Shaped like the API reference's example: a reasoning item, a message, a call, usage.
  auto reply = DecodeResponse(Provider::kOpenAiResponses, R"({
    "id": "resp_67cc", "object": "response", "created_at": 1741476542, "status": "completed",
    "error": null, "incomplete_details": null, "model": "gpt-4.1-2025-04-14",
    "output": [
      {"type": "reasoning", "id": "rs_1", "summary": []},
      {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
       "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
      {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "search",
       "arguments": "{\"pattern\":\"user_id\"}", "status": "completed"}],
    "usage": {"input_tokens": 2006, "input_tokens_details": {"cached_tokens": 1920},
              "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 128},
              "total_tokens": 2306}})");
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "Let me look.");
  ASSERT_EQ(reply->tool_calls.size(), 1u);
  EXPECT_EQ(reply->tool_calls[0].name, "search");
  EXPECT_EQ(reply->tool_calls[0].id, "call_abc");
  EXPECT_EQ(reply->usage.input_tokens, 2006);
  EXPECT_EQ(reply->usage.cached_input_tokens, 1920);

  auto failed = DecodeResponse(Provider::kOpenAiResponses,
      R"({"id": "resp_1", "status": "failed", "output": [],
          "error": {"code": "server_error", "message": "The model crashed"}})");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kProtocol);
  EXPECT_NE(failed.error().message.find("The model crashed"), std::string::npos);
}

TEST(Protocol, AnthropicCacheControlOnSystemToolsAndLatestBreakpoints) {
  ModelRequest request = Conversation();
  Json plain = EncodeRequest(Provider::kAnthropic, request);
  EXPECT_TRUE(plain["system"].is_string());
  EXPECT_EQ(plain.dump().find("cache_control"), std::string::npos);

  // Breakpoints on the user message, both tool results and the last one: four marked
  // messages, plus system and tools, exceed the limit of four; the latest two stay.
  request.messages[1].cache_breakpoint = true;
  request.messages[3].cache_breakpoint = true;
  request.messages[4].cache_breakpoint = true;
  request.messages[6].cache_breakpoint = true;
  Json body = EncodeRequest(Provider::kAnthropic, request);
  const Json ephemeral = {{"type", "ephemeral"}};
  ASSERT_TRUE(body["system"].is_array());
  EXPECT_EQ(body["system"][0]["text"], "You migrate code.");
  EXPECT_EQ(body["system"][0]["cache_control"], ephemeral);
  EXPECT_EQ(body["tools"].back()["cache_control"], ephemeral);
  const Json& messages = body["messages"];
  // user, assistant, user (two results), assistant, user (one result).
  ASSERT_EQ(messages.size(), 5u);
  EXPECT_FALSE(messages[0]["content"][0].contains("cache_control"));
  EXPECT_FALSE(messages[2]["content"][0].contains("cache_control"));  // Dropped: oldest.
  EXPECT_EQ(messages[2]["content"][1]["cache_control"], ephemeral);
  EXPECT_EQ(messages[4]["content"][0]["cache_control"], ephemeral);
  size_t marks = 0;
  for (size_t at = body.dump().find("cache_control"); at != std::string::npos;
       at = body.dump().find("cache_control", at + 1)) {
    ++marks;
  }
  EXPECT_EQ(marks, 4u);

  auto decoded = DecodeRequest(Provider::kAnthropic, body.dump());
  ASSERT_OK(decoded);
  ExpectSameMessages(decoded->messages, request.messages, /*compare_is_error=*/true);
  std::vector<bool> marked;
  for (const auto& message : decoded->messages) marked.push_back(message.cache_breakpoint);
  EXPECT_EQ(marked, (std::vector<bool>{false, false, false, false, true, false, true}));
  // Decoded and encoded again, the request is byte-identical.
  EXPECT_EQ(EncodeRequest(Provider::kAnthropic, *decoded).dump(), body.dump());
}

TEST(Protocol, AnthropicCacheUsageCountsWritesAsInput) {
  auto reply = DecodeResponse(Provider::kAnthropic, R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
    "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
    "usage": {"input_tokens": 21, "cache_creation_input_tokens": 188086,
              "cache_read_input_tokens": 0, "output_tokens": 393}})");
  ASSERT_OK(reply);
  EXPECT_EQ(reply->usage.input_tokens, 188107);
  EXPECT_EQ(reply->usage.cached_input_tokens, 0);
  EXPECT_EQ(reply->usage.output_tokens, 393);
}

// Providers cache a prompt's prefix: a conversation that grows by a turn must encode to bytes
// that start with the previous turn's encoding of the shared messages, and encoding must be
// repeatable.
TEST(Protocol, EncodedRequestsKeepAByteStablePrefixAcrossTurns) {
  for (Provider provider :
       {Provider::kOpenAiChat, Provider::kOpenAiResponses, Provider::kAnthropic}) {
    SCOPED_TRACE(std::string(ProviderName(provider)));
    ModelRequest turn1 = Conversation();
    turn1.messages[1].cache_breakpoint = true;
    ModelRequest turn2 = turn1;
    Message next = Msg(Role::kAssistant, "");
    next.tool_calls.push_back({"call_4", "verify", "{}"});
    turn2.messages.push_back(next);
    turn2.messages.push_back(ToolResult("call_4", "2 tests pass"));
    const Json body1 = EncodeRequest(provider, turn1);
    const std::string first = body1.dump();
    const std::string second = EncodeRequest(provider, turn2).dump();
    EXPECT_EQ(EncodeRequest(provider, turn1).dump(), first);
    const char* list = provider == Provider::kOpenAiResponses ? "input" : "messages";
    const std::string last = body1[list].back().dump();
    const size_t end = first.find(last);
    ASSERT_NE(end, std::string::npos);
    const size_t shared = end + last.size();
    EXPECT_EQ(second.substr(0, shared), first.substr(0, shared));
    EXPECT_GT(second.size(), first.size());
  }
}

}  // namespace
}  // namespace drover::agent
