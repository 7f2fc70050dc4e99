#include "llm/stream.h"

#include "llm/protocol.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

// Shaped like the providers' documented streams: text in several deltas, a tool call whose
// arguments arrive in pieces, usage at the end (OpenAI with stream_options.include_usage).
constexpr std::string_view kOpenAiChatStream =
    R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"look."},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"search","arguments":"{\"pattern\":\"x\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a.py\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[],"usage":{"prompt_tokens":1500,"completion_tokens":40,"total_tokens":1540,"prompt_tokens_details":{"cached_tokens":1024}}}

data: [DONE]

)";

constexpr std::string_view kAnthropicStream =
    R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Reading "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"it."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"read_file","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"a"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":".py\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"verify","input":{}}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

)";

constexpr std::string_view kResponsesStream =
    R"(event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5","output":[]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Checking "}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"now."}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":4,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","call_id":"call_x","name":"search","arguments":""}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"fc_1","output_index":1,"delta":"{\"pattern\":"}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":6,"item_id":"fc_1","output_index":1,"delta":"\"user_id\"}"}

event: response.function_call_arguments.done
data: {"type":"response.function_call_arguments.done","sequence_number":7,"item_id":"fc_1","output_index":1,"arguments":"{\"pattern\":\"user_id\"}"}

event: response.completed
data: {"type":"response.completed","sequence_number":8,"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-5","output":[],"usage":{"input_tokens":900,"input_tokens_details":{"cached_tokens":512},"output_tokens":30,"total_tokens":930}}}

)";

Result<ModelReply> Decode(Provider provider, std::string_view stream, size_t piece = 0) {
  StreamDecoder decoder(provider);
  if (piece == 0) piece = stream.size();
  for (size_t at = 0; at < stream.size(); at += piece) {
    if (auto fed = decoder.Feed(stream.substr(at, piece)); !fed) return Fail(fed.error());
  }
  return decoder.Finish();
}

TEST(StreamDecoder, OpenAiChatToolCallDeltasByIndexAndUsage) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{13}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    auto reply = Decode(Provider::kOpenAiChat, kOpenAiChatStream, piece);
    ASSERT_OK(reply);
    EXPECT_EQ(reply->text, "Let me look.");
    ASSERT_EQ(reply->tool_calls.size(), 2u);
    EXPECT_EQ(reply->tool_calls[0].id, "call_a");
    EXPECT_EQ(reply->tool_calls[0].name, "read_file");
    EXPECT_EQ(reply->tool_calls[0].arguments, R"({"path":"a.py"})");
    EXPECT_EQ(reply->tool_calls[1].name, "search");
    EXPECT_EQ(reply->stop_reason, "tool_calls");
    EXPECT_EQ(reply->usage.input_tokens, 1500);
    EXPECT_EQ(reply->usage.output_tokens, 40);
    EXPECT_EQ(reply->usage.cached_input_tokens, 1024);
  }
}

TEST(StreamDecoder, AnthropicBlocksJsonDeltasAndCacheUsage) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{29}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    auto reply = Decode(Provider::kAnthropic, kAnthropicStream, piece);
    ASSERT_OK(reply);
    EXPECT_EQ(reply->text, "Reading it.");
    ASSERT_EQ(reply->tool_calls.size(), 2u);
    EXPECT_EQ(reply->tool_calls[0].id, "toolu_1");
    EXPECT_EQ(Json::parse(reply->tool_calls[0].arguments), Json({{"path", "a.py"}}));
    EXPECT_EQ(reply->tool_calls[1].name, "verify");
    EXPECT_EQ(reply->tool_calls[1].arguments, "{}");
    EXPECT_EQ(reply->stop_reason, "tool_use");
    EXPECT_EQ(reply->usage.input_tokens, 1812);
    EXPECT_EQ(reply->usage.cached_input_tokens, 1800);
    EXPECT_EQ(reply->usage.output_tokens, 89);
  }
}

TEST(StreamDecoder, ResponsesItemsArgumentDeltasAndCompletedUsage) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{17}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    auto reply = Decode(Provider::kOpenAiResponses, kResponsesStream, piece);
    ASSERT_OK(reply);
    EXPECT_EQ(reply->text, "Checking now.");
    ASSERT_EQ(reply->tool_calls.size(), 1u);
    EXPECT_EQ(reply->tool_calls[0].id, "call_x");
    EXPECT_EQ(reply->tool_calls[0].name, "search");
    EXPECT_EQ(reply->tool_calls[0].arguments, R"({"pattern":"user_id"})");
    EXPECT_EQ(reply->stop_reason, "tool_calls");
    EXPECT_EQ(reply->usage.input_tokens, 900);
    EXPECT_EQ(reply->usage.cached_input_tokens, 512);
  }
}

TEST(StreamDecoder, ErrorEventsAreClassifiedLikeTheirStatus) {
  auto overloaded = Decode(Provider::kAnthropic,
      "event: message_start\n"
      R"(data: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":0}}})"
      "\n\nevent: error\n"
      R"(data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
      "\n\n");
  ASSERT_FALSE(overloaded.has_value());
  EXPECT_EQ(overloaded.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(overloaded.error().message.find("Overloaded"), std::string::npos);

  auto limited = Decode(Provider::kOpenAiResponses,
      "event: error\n"
      R"(data: {"type":"error","code":"rate_limit_exceeded","message":"Slow down","param":null})"
      "\n\n");
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, ErrorCode::kRateLimited);

  auto failed = Decode(Provider::kOpenAiResponses,
      "event: response.failed\n"
      R"(data: {"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"boom"}}})"
      "\n\n");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);

  auto invalid = Decode(Provider::kOpenAiChat,
      R"(data: {"error":{"message":"bad tool schema","type":"invalid_request_error"}})"
      "\n\n");
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().code, ErrorCode::kProtocol);
  EXPECT_NE(invalid.error().message.find("bad tool schema"), std::string::npos);
}

TEST(StreamDecoder, CutOrGarbledStreams) {
  // Cut before message_stop: worth another try.
  std::string_view cut = kAnthropicStream.substr(0, kAnthropicStream.find("event: message_delta"));
  auto truncated = Decode(Provider::kAnthropic, cut);
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.error().code, ErrorCode::kUnavailable);

  auto garbage = Decode(Provider::kOpenAiChat, "data: {not json\n\n");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kParse);

  auto wrong_shape = Decode(Provider::kAnthropic,
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":7}})"
      "\n\n");
  ASSERT_FALSE(wrong_shape.has_value());
  EXPECT_EQ(wrong_shape.error().code, ErrorCode::kProtocol);
  EXPECT_NE(wrong_shape.error().message.find("content_block_delta"), std::string::npos);

  // After a failure the decoder keeps its error.
  StreamDecoder decoder(Provider::kOpenAiChat);
  EXPECT_FALSE(decoder.Feed("data: nope\n\n").has_value());
  EXPECT_FALSE(decoder.Feed(kOpenAiChatStream).has_value());
  EXPECT_FALSE(decoder.Finish().has_value());
}

TEST(StreamEncoder, EveryProviderRoundTripsThroughItsDecoder) {
  ModelReply reply;
  reply.text = "Line one\nline two";
  reply.tool_calls.push_back({"call_1", "edit", R"({"path":"a.py","old":"x","new":"y"})"});
  reply.tool_calls.push_back({"call_2", "verify", "{}"});
  reply.usage = {2000, 70, 1500};
  for (Provider provider :
       {Provider::kOpenAiChat, Provider::kOpenAiResponses, Provider::kAnthropic}) {
    SCOPED_TRACE(std::string(ProviderName(provider)));
    std::string stream = EncodeStream(provider, "model-z", reply);
    auto decoded = Decode(provider, stream, 5);
    ASSERT_OK(decoded);
    EXPECT_EQ(decoded->text, reply.text);
    ASSERT_EQ(decoded->tool_calls.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(decoded->tool_calls[i].id, reply.tool_calls[i].id);
      EXPECT_EQ(decoded->tool_calls[i].name, reply.tool_calls[i].name);
      EXPECT_EQ(Json::parse(decoded->tool_calls[i].arguments),
                Json::parse(reply.tool_calls[i].arguments));
    }
    EXPECT_EQ(decoded->usage.input_tokens, 2000);
    EXPECT_EQ(decoded->usage.output_tokens, 70);
    EXPECT_EQ(decoded->usage.cached_input_tokens, 1500);
    // The stream says what the JSON reply would say.
    auto whole = DecodeResponse(provider, EncodeResponse(provider, "model-z", reply).dump());
    ASSERT_OK(whole);
    EXPECT_EQ(decoded->stop_reason, whole->stop_reason);
  }
}

}  // namespace
}  // namespace drover::agent
