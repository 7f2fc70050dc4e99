#include "llm/provider.h"

#include <iterator>
#include <set>
#include <string>

#include "llm/protocol.h"
#include "llm/stream.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

// Every enumerator; the table test below fails when one is added without a row.
constexpr Provider kEveryProvider[] = {Provider::kOpenAiChat, Provider::kOpenAiResponses,
                                       Provider::kAnthropic};

ModelReply ReplyWithToolCall() {
  ModelReply reply;
  reply.text = "Reading the file first.";
  reply.tool_calls.push_back({"call_7", "read_file", R"({"path":"src/a.py","limit":40})"});
  reply.usage = {1500, 42, 1024};
  return reply;
}

void ExpectSameReply(const ModelReply& got, const ModelReply& want) {
  EXPECT_EQ(got.text, want.text);
  ASSERT_EQ(got.tool_calls.size(), want.tool_calls.size());
  for (size_t i = 0; i < want.tool_calls.size(); ++i) {
    EXPECT_EQ(got.tool_calls[i].id, want.tool_calls[i].id);
    EXPECT_EQ(got.tool_calls[i].name, want.tool_calls[i].name);
    EXPECT_EQ(Json::parse(got.tool_calls[i].arguments), Json::parse(want.tool_calls[i].arguments));
  }
  EXPECT_EQ(got.usage.input_tokens, want.usage.input_tokens);
  EXPECT_EQ(got.usage.output_tokens, want.usage.output_tokens);
  EXPECT_EQ(got.usage.cached_input_tokens, want.usage.cached_input_tokens);
}

TEST(ProviderTraits, EveryProviderHasItsRowInEnumOrder) {
  auto rows = AllProviderTraits();
  ASSERT_EQ(rows.size(), std::size(kEveryProvider));
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(std::string(rows[i].name));
    EXPECT_EQ(rows[i].provider, kEveryProvider[i]);
    EXPECT_EQ(&TraitsOf(kEveryProvider[i]), &rows[i]);
    ASSERT_NE(rows[i].codec, nullptr);
    const ProtocolCodec& codec = *rows[i].codec;
    EXPECT_NE(codec.encode_request, nullptr);
    EXPECT_NE(codec.decode_request, nullptr);
    EXPECT_NE(codec.encode_response, nullptr);
    EXPECT_NE(codec.decode_response, nullptr);
    EXPECT_NE(codec.encode_stream, nullptr);
    EXPECT_NE(codec.new_stream_decoder, nullptr);
  }
}

TEST(ProviderTraits, NamesRoundTripAndAreDistinct) {
  std::set<std::string_view> names;
  for (const ProviderTraits& traits : AllProviderTraits()) {
    EXPECT_EQ(ProviderName(traits.provider), traits.name);
    auto parsed = ParseProvider(traits.name);
    ASSERT_OK(parsed);
    EXPECT_EQ(*parsed, traits.provider);
    EXPECT_TRUE(names.insert(traits.name).second) << traits.name;
  }
  auto unknown = ParseProvider("gemini");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(unknown.error().message,
            "provider 'gemini' is not one of: openai, openai-responses, anthropic");
}

TEST(ProviderTraits, PathsAndBaseUrlsFollowEachConvention) {
  for (const ProviderTraits& traits : AllProviderTraits()) {
    SCOPED_TRACE(std::string(traits.name));
    EXPECT_EQ(std::string(traits.request_path),
              std::string(traits.base_path) + std::string(traits.endpoint));
    EXPECT_TRUE(traits.default_base_url.ends_with(traits.base_path));
    EXPECT_EQ(RequestPath(traits.provider), traits.request_path);
    EXPECT_EQ(UpstreamUrl(traits.provider, DefaultBaseUrl(traits.provider)),
              std::string(traits.default_base_url) + std::string(traits.endpoint));
    // A gateway base URL in the provider's convention reaches the path the gateway serves.
    EXPECT_EQ(UpstreamUrl(traits.provider, "http://gateway" + std::string(traits.base_path) + "/"),
              "http://gateway" + std::string(traits.request_path));
    EXPECT_EQ(ProviderForPath(traits.request_path), &traits);
    EXPECT_EQ(ProviderForPath(traits.endpoint), &traits);
    auto fields = ParseJson(traits.stateless_fields, "stateless_fields");
    ASSERT_OK(fields);
    EXPECT_TRUE(fields->is_object());
  }
  EXPECT_EQ(ProviderForPath("/v1/completions"), nullptr);
  EXPECT_EQ(ProviderForPath("/"), nullptr);
}

TEST(ProviderTraits, CredentialHeadersAndStatelessFields) {
  HttpHeaders openai;
  AddCredentialHeaders(Provider::kOpenAiResponses, "sk-1", openai);
  EXPECT_EQ(openai, (HttpHeaders{{"authorization", "Bearer sk-1"}}));
  HttpHeaders anthropic;
  AddCredentialHeaders(Provider::kAnthropic, "sk-2", anthropic);
  EXPECT_EQ(anthropic,
            (HttpHeaders{{"x-api-key", "sk-2"}, {"anthropic-version", "2023-06-01"}}));
  // Without a key (the gateway adds it) only the version header is sent.
  HttpHeaders keyless;
  AddCredentialHeaders(Provider::kAnthropic, "", keyless);
  EXPECT_EQ(keyless, (HttpHeaders{{"anthropic-version", "2023-06-01"}}));
  HttpHeaders none;
  AddCredentialHeaders(Provider::kOpenAiChat, "", none);
  EXPECT_TRUE(none.empty());

  Json chat = {{"model", "m"}};
  AddStatelessFields(Provider::kOpenAiChat, chat);
  EXPECT_EQ(chat, (Json{{"model", "m"}, {"n", 1}, {"store", false}}));
  Json responses = {{"model", "m"}, {"store", true}};
  AddStatelessFields(Provider::kOpenAiResponses, responses);
  EXPECT_EQ(responses, (Json{{"model", "m"}, {"store", false}}));
  Json messages = {{"model", "m"}};
  AddStatelessFields(Provider::kAnthropic, messages);
  EXPECT_EQ(messages, (Json{{"model", "m"}}));
}

TEST(ProviderTraits, EachCodecDecodesItsOwnReplyWithAToolCallToTheSameNeutralReply) {
  const ModelReply reply = ReplyWithToolCall();
  for (const ProviderTraits& traits : AllProviderTraits()) {
    SCOPED_TRACE(std::string(traits.name));
    const std::string body = EncodeResponse(traits.provider, "m", reply).dump();
    auto decoded = DecodeResponse(traits.provider, body);
    ASSERT_OK(decoded);
    ExpectSameReply(*decoded, reply);
    EXPECT_FALSE(decoded->stop_reason.empty());
    // The provider's own stop word survives: encoding the decoded reply gives the same bytes.
    EXPECT_EQ(EncodeResponse(traits.provider, "m", *decoded).dump(), body);

    const std::string events = EncodeStream(traits.provider, "m", reply);
    StreamDecoder stream(traits.provider);
    ASSERT_OK(stream.Feed(events));
    auto streamed = stream.Finish();
    ASSERT_OK(streamed);
    ExpectSameReply(*streamed, reply);
    EXPECT_EQ(streamed->stop_reason, decoded->stop_reason);
  }
}

TEST(ProviderTraits, EachCodecDecodesItsOwnRequestBack) {
  ModelRequest request;
  request.model = "m";
  request.max_output_tokens = 321;
  request.messages.push_back(Message{Role::kSystem, "You migrate code.", {}, "", false});
  request.messages.push_back(Message{Role::kUser, "Rename user_id.", {}, "", false});
  Message assistant{Role::kAssistant, "Looking.", {}, "", false};
  assistant.tool_calls.push_back({"call_1", "read_file", R"({"path":"a.py"})"});
  request.messages.push_back(assistant);
  request.messages.push_back(Message{Role::kTool, "print(user_id)", {}, "call_1", false});
  request.tools.push_back({"read_file", "Reads a file", Json{{"type", "object"}}});
  for (const ProviderTraits& traits : AllProviderTraits()) {
    SCOPED_TRACE(std::string(traits.name));
    const std::string body = EncodeRequest(traits.provider, request).dump();
    auto decoded = DecodeRequest(traits.provider, body);
    ASSERT_OK(decoded);
    EXPECT_EQ(decoded->model, request.model);
    EXPECT_EQ(decoded->max_output_tokens, request.max_output_tokens);
    ASSERT_EQ(decoded->messages.size(), request.messages.size());
    for (size_t i = 0; i < request.messages.size(); ++i) {
      EXPECT_EQ(decoded->messages[i].role, request.messages[i].role);
      EXPECT_EQ(decoded->messages[i].text, request.messages[i].text);
      EXPECT_EQ(decoded->messages[i].tool_call_id, request.messages[i].tool_call_id);
      EXPECT_EQ(decoded->messages[i].tool_calls.size(), request.messages[i].tool_calls.size());
    }
    ASSERT_EQ(decoded->tools.size(), 1u);
    EXPECT_EQ(decoded->tools[0].name, "read_file");
    // Deterministic: the decoded request encodes to the same bytes.
    EXPECT_EQ(EncodeRequest(traits.provider, *decoded).dump(), body);
  }
}

}  // namespace
}  // namespace drover::agent
