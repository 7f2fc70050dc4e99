// The upstream request is the gateway's, built from an allowlist: whatever
// fields the agent puts in its request body, only the conversation, the tools,
// the configured model, a capped output limit and the gateway's own fixed
// fields reach the provider.
#include <set>
#include <string>

#include "llm/protocol.h"
#include "gateway/gateway.h"
#include "tests/testing/model_server.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using agent::Provider;

// What each protocol's upstream body may carry, and nothing else.
std::set<std::string> AllowedFields(Provider provider) {
  switch (provider) {
    case Provider::kOpenAiChat:
      return {"model", "messages", "max_tokens", "stream", "stream_options", "tools", "n", "store"};
    case Provider::kOpenAiResponses:
      return {"model", "input", "instructions", "max_output_tokens", "stream", "tools", "store"};
    case Provider::kAnthropic:
      return {"model", "system", "messages", "max_tokens", "stream", "tools"};
  }
  return {};
}

const char* OutputLimitField(Provider provider) {
  return provider == Provider::kOpenAiResponses ? "max_output_tokens" : "max_tokens";
}

// A request body as a hostile agent would send it in `provider`'s protocol:
// many completions, server-side storage, a huge output limit, a model of its
// own and fields the gateway does not know, beside an ordinary conversation
// with one tool.
std::string HostileBody(Provider provider, bool stream) {
  Json body;
  switch (provider) {
    case Provider::kOpenAiChat:
      body = {{"model", "agent-chosen-model"},
              {"messages",
               {{{"role", "system"}, {"content", "You migrate code."}},
                {{"role", "user"}, {"content", "rename user_id"}}}},
              {"tools",
               {{{"type", "function"},
                 {"function",
                  {{"name", "read_file"},
                   {"description", "Reads a file."},
                   {"parameters", {{"type", "object"}}}}}}}},
              {"max_tokens", 1000000},
              {"max_completion_tokens", 1000000},
              {"n", 5},
              {"store", true},
              {"metadata", {{"exfiltrate", "yes"}}},
              {"logit_bias", {{"50256", 100}}},
              {"x_unknown_field", "anything"}};
      break;
    case Provider::kOpenAiResponses:
      body = {{"model", "agent-chosen-model"},
              {"instructions", "You migrate code."},
              {"input",
               {{{"type", "message"},
                 {"role", "user"},
                 {"content", {{{"type", "input_text"}, {"text", "rename user_id"}}}}}}},
              {"tools",
               {{{"type", "function"},
                 {"name", "read_file"},
                 {"description", "Reads a file."},
                 {"parameters", {{"type", "object"}}}}}},
              {"max_output_tokens", 1000000},
              {"n", 5},
              {"store", true},
              {"previous_response_id", "resp_from_someone_else"},
              {"background", true},
              {"x_unknown_field", "anything"}};
      break;
    case Provider::kAnthropic:
      body = {{"model", "agent-chosen-model"},
              {"system", "You migrate code."},
              {"messages", {{{"role", "user"}, {"content", "rename user_id"}}}},
              {"tools",
               {{{"name", "read_file"},
                 {"description", "Reads a file."},
                 {"input_schema", {{"type", "object"}}}}}},
              {"max_tokens", 1000000},
              {"n", 5},
              {"store", true},
              {"metadata", {{"user_id", "someone"}}},
              {"x_unknown_field", "anything"}};
      break;
  }
  if (stream) body["stream"] = true;
  return body.dump();
}

// Checks `sent` (an upstream body) is the allowlisted form of HostileBody.
void ExpectAllowlisted(Provider provider, const Json& sent, const std::string& model,
                       int max_output_tokens) {
  ASSERT_TRUE(sent.is_object()) << sent.dump();
  std::set<std::string> allowed = AllowedFields(provider);
  for (const auto& [key, value] : sent.items()) {
    EXPECT_TRUE(allowed.contains(key))
        << "field '" << key << "' reached the upstream: " << sent.dump();
  }
  EXPECT_EQ(sent.value("model", ""), model);
  EXPECT_EQ(sent.value(OutputLimitField(provider), -1), max_output_tokens) << sent.dump();
  if (provider == Provider::kOpenAiChat) {
    EXPECT_EQ(sent.value("n", -1), 1);
  }
  if (provider != Provider::kAnthropic) {
    ASSERT_TRUE(sent.contains("store")) << sent.dump();
    EXPECT_EQ(sent["store"], false);
  }
  // The conversation itself is kept.
  auto decoded = agent::DecodeRequest(provider, sent.dump());
  ASSERT_OK(decoded);
  ASSERT_FALSE(decoded->messages.empty());
  EXPECT_EQ(decoded->messages.back().text, "rename user_id");
  ASSERT_EQ(decoded->tools.size(), 1u);
  EXPECT_EQ(decoded->tools[0].name, "read_file");
}

constexpr Provider kProviders[] = {Provider::kOpenAiChat, Provider::kOpenAiResponses,
                                   Provider::kAnthropic};

TEST(UpstreamRequestBody, KeepsOnlyTheAllowlistedFieldsPerProtocol) {
  for (Provider provider : kProviders) {
    SCOPED_TRACE(std::string(agent::ProviderName(provider)));
    auto request = agent::DecodeRequest(provider, HostileBody(provider, /*stream=*/true));
    ASSERT_OK(request);
    UpstreamConfig upstream{provider, "http://127.0.0.1:1", "key", "configured-model"};
    Json sent = UpstreamRequestBody(upstream, *request, 2048, /*stream=*/true);
    ExpectAllowlisted(provider, sent, "configured-model", 2048);
    EXPECT_EQ(sent.value("stream", false), true);
  }
}

TEST(UpstreamRequestBody, CapsTheOutputLimitAndFillsAMissingOne) {
  for (Provider provider : kProviders) {
    SCOPED_TRACE(std::string(agent::ProviderName(provider)));
    UpstreamConfig upstream{provider, "http://127.0.0.1:1", "", "m"};
    agent::ModelRequest request;
    request.model = "other";
    request.messages.push_back({agent::Role::kUser, "hi", {}, "", false});
    request.max_output_tokens = 100;  // Below the cap: kept.
    EXPECT_EQ(UpstreamRequestBody(upstream, request, 2048, false)[OutputLimitField(provider)], 100);
    request.max_output_tokens = 0;  // None asked for: the cap.
    EXPECT_EQ(UpstreamRequestBody(upstream, request, 2048, false)[OutputLimitField(provider)],
              2048);
    request.max_output_tokens = -5;
    EXPECT_EQ(UpstreamRequestBody(upstream, request, 2048, false)[OutputLimitField(provider)],
              2048);
    // No cap configured: the agent's value, or the default when it named none.
    request.max_output_tokens = 0;
    EXPECT_EQ(UpstreamRequestBody(upstream, request, 0, false)[OutputLimitField(provider)],
              agent::ModelRequest{}.max_output_tokens);
    // The stream fields are the gateway's choice, not the agent's.
    EXPECT_FALSE(UpstreamRequestBody(upstream, request, 0, false).contains("stream"));
  }
}

// Raw bodies sent straight to the job's socket, as an agent bypassing its
// client would, over real HTTP to a real loopback provider that records what it
// got.
class GatewayRequestFieldsTest : public ::testing::TestWithParam<Provider> {
 protected:
  testing::TempDir dir_;
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
  testing::ScriptedModelServer upstream_;
};

TEST_P(GatewayRequestFieldsTest, HostileFieldsArriveUpstreamAsTheAllowlistedForm) {
  const Provider provider = GetParam();
  // With and without a configured model: the agent's bytes are never sent as
  // they are, even when its model, protocol and stream flag match the
  // upstream's.
  for (const std::string configured : {"configured-model", ""}) {
    SCOPED_TRACE("configured model '" + configured + "'");
    GatewayOptions options;
    options.http = http_.get();
    options.sleep = [](std::chrono::milliseconds) {};
    options.upstreams = {UpstreamConfig{
        provider,
        provider == Provider::kAnthropic ? upstream_.AnthropicBaseUrl() : upstream_.OpenAiBaseUrl(),
        "sk-test-upstream-key-0123456789", configured}};
    Gateway gateway(options);
    JobConfig job;
    job.job_id = configured.empty() ? "unconfigured" : "configured";
    job.repository = "repo";
    job.max_tokens = 1000000;
    job.max_output_tokens = 2048;
    job.socket_path = dir_ / (job.job_id + ".sock");
    ASSERT_OK(gateway.OpenJob(job));
    for (bool stream : {true, false}) {
      SCOPED_TRACE(stream ? "streamed" : "not streamed");
      agent::ModelReply scripted;
      scripted.text = "ok";
      upstream_.AddReply(scripted);
      size_t before = upstream_.requests().size();
      HttpRequest request;
      request.method = "POST";
      request.url = "http://gateway" + std::string(agent::RequestPath(provider));
      request.unix_socket = job.socket_path.string();
      request.headers["content-type"] = "application/json";
      request.body = HostileBody(provider, stream);
      auto response = http_->Send(request);
      ASSERT_OK(response);
      EXPECT_EQ(response->status, 200) << response->body;
      auto received = upstream_.requests();
      ASSERT_EQ(received.size(), before + 1);
      auto sent = ParseJson(received.back().body, "upstream body");
      ASSERT_OK(sent);
      ExpectAllowlisted(provider, *sent, configured.empty() ? "agent-chosen-model" : configured,
                        2048);
    }
    ASSERT_OK(gateway.CloseJob(job.job_id));
  }
}

INSTANTIATE_TEST_SUITE_P(Protocols, GatewayRequestFieldsTest,
                         ::testing::Values(Provider::kOpenAiChat, Provider::kOpenAiResponses,
                                           Provider::kAnthropic),
                         [](const ::testing::TestParamInfo<Provider>& param) {
                           switch (param.param) {
                             case Provider::kOpenAiChat: return std::string("OpenAiChat");
                             case Provider::kOpenAiResponses: return std::string("Responses");
                             case Provider::kAnthropic: return std::string("Anthropic");
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace drover::fleet
