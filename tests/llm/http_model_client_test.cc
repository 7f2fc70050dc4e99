#include "llm/http_model_client.h"

#include <algorithm>

#include "llm/protocol.h"
#include "tests/testing/model_server.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

using std::chrono::milliseconds;

ModelRequest SimpleRequest() {
  ModelRequest request;
  request.model = "m-1";
  request.messages.push_back({Role::kSystem, "sys", {}, "", false});
  request.messages.push_back({Role::kUser, "hello", {}, "", false});
  return request;
}

HttpResponse Raw(int status, std::string body, HttpHeaders headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

class HttpModelClientTest : public ::testing::TestWithParam<Provider> {
 protected:
  HttpModelClientOptions Options(std::string key = "") {
    HttpModelClientOptions options;
    options.provider = GetParam();
    options.base_url = GetParam() == Provider::kAnthropic ? server_.AnthropicBaseUrl()
                                                          : server_.OpenAiBaseUrl();
    options.api_key = std::move(key);
    options.timeout = std::chrono::seconds(10);
    return options;
  }

  testing::ScriptedModelServer server_;
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
};

TEST_P(HttpModelClientTest, ReplyAndAuthHeaders) {
  ModelReply scripted;
  scripted.text = "hi";
  scripted.tool_calls.push_back({"call_1", "read_file", R"({"path":"a.py"})"});
  scripted.usage = {100, 7, 0};
  server_.AddReply(scripted);
  HttpModelClient client(Options("secret-key-123"), *http_);
  auto reply = client.Complete(SimpleRequest());
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "hi");
  ASSERT_EQ(reply->tool_calls.size(), 1u);
  EXPECT_EQ(reply->tool_calls[0].name, "read_file");
  EXPECT_EQ(reply->usage.input_tokens, 100);

  auto received = server_.requests();
  ASSERT_EQ(received.size(), 1u);
  const auto& headers = received[0].headers;
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].path, RequestPath(GetParam()));
  EXPECT_EQ(headers.at("content-type"), "application/json");
  if (GetParam() != Provider::kAnthropic) {
    EXPECT_EQ(headers.at("authorization"), "Bearer secret-key-123");
    EXPECT_FALSE(headers.contains("x-api-key"));
  } else {
    EXPECT_EQ(headers.at("x-api-key"), "secret-key-123");
    EXPECT_EQ(headers.at("anthropic-version"), "2023-06-01");
    EXPECT_FALSE(headers.contains("authorization"));
  }
  auto sent = DecodeRequest(GetParam(), received[0].body);
  ASSERT_OK(sent);
  EXPECT_EQ(sent->model, "m-1");
  EXPECT_EQ(sent->messages.back().text, "hello");
}

TEST_P(HttpModelClientTest, StreamedReplyOverRealHttp) {
  ModelReply scripted;
  scripted.text = "streamed";
  scripted.tool_calls.push_back({"call_7", "search", R"({"pattern":"a"})"});
  scripted.usage = {300, 9, 256};
  server_.AddReply(scripted);
  HttpModelClientOptions options = Options();
  options.stream = true;
  HttpModelClient client(options, *http_);
  auto reply = client.Complete(SimpleRequest());
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "streamed");
  ASSERT_EQ(reply->tool_calls.size(), 1u);
  EXPECT_EQ(reply->tool_calls[0].id, "call_7");
  EXPECT_EQ(reply->usage.cached_input_tokens, 256);
  auto sent = DecodeRequest(GetParam(), server_.requests().at(0).body);
  ASSERT_OK(sent);
  EXPECT_TRUE(sent->stream);
}

// A 16 MiB reply, as JSON or as an event stream, is refused at the client's limit with an
// error naming it; the next reply within the limit is read as usual.
TEST_P(HttpModelClientTest, ReplyAboveTheLimitIsRefused) {
  EXPECT_EQ(HttpModelClientOptions{}.max_reply_bytes, size_t{8} << 20);
  for (bool stream : {false, true}) {
    server_.AddReply(ModelReply{std::string(size_t{16} << 20, 'x'), {}, {10, 2, 0}, ""});
    server_.AddReply(ModelReply{"small", {}, {10, 2, 0}, ""});
    HttpModelClientOptions options = Options();
    options.stream = stream;
    options.max_reply_bytes = size_t{1} << 20;
    HttpModelClient client(options, *http_);
    auto reply = client.Complete(SimpleRequest());
    ASSERT_FALSE(reply.has_value()) << stream;
    EXPECT_EQ(reply.error().code, ErrorCode::kProtocol);
    EXPECT_NE(reply.error().message.find("larger than 1 MiB"), std::string::npos)
        << reply.error().message;
    auto next = client.Complete(SimpleRequest());
    ASSERT_OK(next);
    EXPECT_EQ(next->text, "small");
  }
}

TEST_P(HttpModelClientTest, NoKeyNoCredentialHeader) {
  server_.AddReply(ModelReply{"ok", {}, {}, ""});
  HttpModelClient client(Options(), *http_);
  ASSERT_OK(client.Complete(SimpleRequest()));
  auto headers = server_.requests().at(0).headers;
  EXPECT_FALSE(headers.contains("authorization"));
  EXPECT_FALSE(headers.contains("x-api-key"));
}

TEST_P(HttpModelClientTest, RateLimitedCarriesRetryAfter) {
  server_.AddResponse(Raw(429, R"({"error": {"message": "slow down"}})", {{"retry-after", "3"}}));
  HttpModelClient client(Options(), *http_);
  auto reply = client.Complete(SimpleRequest());
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kRateLimited);
  ASSERT_TRUE(reply.error().retry_after.has_value());
  EXPECT_EQ(*reply.error().retry_after, milliseconds(3000));
  EXPECT_NE(reply.error().message.find("slow down"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 1u) << "the client must not retry";
}

TEST_P(HttpModelClientTest, ServerErrorsAreUnavailable) {
  server_.AddResponse(Raw(500, "internal"));
  server_.AddResponse(Raw(529, R"({"type":"error","error":{"message":"Overloaded"}})",
                          {{"retry-after-ms", "250"}}));
  HttpModelClient client(Options(), *http_);
  auto first = client.Complete(SimpleRequest());
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(first.error().retry_after.has_value());
  auto second = client.Complete(SimpleRequest());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(second.error().retry_after, milliseconds(250));
  EXPECT_NE(second.error().message.find("Overloaded"), std::string::npos);
}

TEST_P(HttpModelClientTest, ClientErrorIsProtocolWithMessage) {
  server_.AddResponse(Raw(400, R"({"error": {"message": "max_tokens too large", "type": "x"}})"));
  HttpModelClient client(Options(), *http_);
  auto reply = client.Complete(SimpleRequest());
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kProtocol);
  EXPECT_NE(reply.error().message.find("max_tokens too large"), std::string::npos);
  EXPECT_NE(reply.error().message.find("400"), std::string::npos);
}

TEST_P(HttpModelClientTest, BadBodiesAreParseOrProtocol) {
  server_.AddResponse(Raw(200, "this is not json"));
  server_.AddResponse(Raw(200, R"({"unexpected": true})"));
  HttpModelClient client(Options(), *http_);
  auto garbage = client.Complete(SimpleRequest());
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kParse);
  auto shape = client.Complete(SimpleRequest());
  ASSERT_FALSE(shape.has_value());
  EXPECT_EQ(shape.error().code, ErrorCode::kProtocol);
}

TEST_P(HttpModelClientTest, GatewayBudgetRefusal) {
  server_.AddResponse(Raw(403, R"({"error": {"message": "token budget exhausted"}})",
                          {{"x-drover-error", "budget_exhausted"}}));
  HttpModelClient client(Options(), *http_);
  auto reply = client.Complete(SimpleRequest());
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kBudgetExhausted);
}

TEST_P(HttpModelClientTest, TimeoutAndUnreachable) {
  server_.AddReply(ModelReply{"late", {}, {}, ""}, milliseconds(3000));
  HttpModelClientOptions options = Options();
  options.timeout = milliseconds(200);
  HttpModelClient client(options, *http_);
  auto slow = client.Complete(SimpleRequest());
  ASSERT_FALSE(slow.has_value());
  EXPECT_EQ(slow.error().code, ErrorCode::kTimeout);

  options.base_url = "http://127.0.0.1:1";
  HttpModelClient nowhere(options, *http_);
  auto refused = nowhere.Complete(SimpleRequest());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Providers, HttpModelClientTest,
                         ::testing::Values(Provider::kOpenAiChat, Provider::kOpenAiResponses,
                                           Provider::kAnthropic),
                         [](const auto& param_info) {
                           std::string name(ProviderName(param_info.param));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(RetryAfter, SecondsMillisecondsAndDates) {
  using std::chrono::system_clock;
  auto now = system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after", "2"}}, now), milliseconds(2000));
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after", "0.5"}}, now), milliseconds(500));
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after-ms", "1500"}, {"retry-after", "9"}}, now),
            milliseconds(1500));
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after", "Wed, 21 Oct 2015 07:28:10 GMT"}}, now),
            milliseconds(10000));
  EXPECT_EQ(RetryAfterFromHeaders({{"retry-after", "Wed, 21 Oct 2015 07:00:00 GMT"}}, now),
            milliseconds(0));
  EXPECT_FALSE(RetryAfterFromHeaders({{"retry-after", "soon"}}, now).has_value());
  EXPECT_FALSE(RetryAfterFromHeaders({}, now).has_value());
}

}  // namespace
}  // namespace drover::agent
