#include "llm/http_model_client.h"

#include <utility>

#include "core/http_status.h"
#include "llm/protocol.h"
#include "llm/provider.h"
#include "llm/stream.h"

namespace drover::agent {
namespace {

constexpr size_t kStreamPieceBytes = 64 * 1024;

}  // namespace

std::optional<std::chrono::milliseconds> RetryAfterFromHeaders(
    const HttpHeaders& headers, std::chrono::system_clock::time_point now) {
  return ParseRateLimitHeaders(headers, now).retry_after;
}

Result<ModelReply> ReplyFromHttpResponse(Provider provider, const HttpResponse& response) {
  const int status = response.status;
  std::string what = std::string(ProviderName(provider)) + " model: HTTP " +
                     std::to_string(status) + ": ";
  auto retry_after = RetryAfterFromHeaders(response.headers);
  if (auto it = response.headers.find("x-drover-error"); it != response.headers.end()) {
    const std::string& kind = it->second;
    ErrorCode code = ErrorCode::kProtocol;
    if (kind == "budget_exhausted") code = ErrorCode::kBudgetExhausted;
    if (kind == "upstream_unavailable") code = ErrorCode::kUnavailable;
    return Fail(Error{code, what + "gateway " + kind + ": " + ErrorMessageFromBody(response.body),
                      retry_after});
  }
  if (status >= 200 && status < 300) {
    auto type = response.headers.find("content-type");
    if (type == response.headers.end() || !type->second.starts_with("text/event-stream")) {
      return DecodeResponse(provider, response.body);
    }
    // In network-sized pieces, so that the parsed events of the whole body are never held
    // beside it at once.
    StreamDecoder decoder(provider);
    std::string_view body = response.body;
    for (size_t at = 0; at < body.size(); at += kStreamPieceBytes) {
      if (auto fed = decoder.Feed(body.substr(at, kStreamPieceBytes)); !fed) {
        return Fail(fed.error());
      }
    }
    return decoder.Finish();
  }
  ErrorCode code = ErrorCode::kProtocol;
  if (status == 429) {
    code = ErrorCode::kRateLimited;
  } else if (status == 408 || status >= 500) {
    code = ErrorCode::kUnavailable;
  }
  return Fail(Error{code, what + ErrorMessageFromBody(response.body), retry_after});
}

HttpModelClient::HttpModelClient(HttpModelClientOptions options, HttpClient& http)
    : options_(std::move(options)), http_(http) {}

Result<ModelReply> HttpModelClient::Complete(const ModelRequest& request) {
  HttpRequest http_request;
  http_request.method = "POST";
  http_request.url = UpstreamUrl(options_.provider, options_.base_url);
  http_request.unix_socket = options_.unix_socket;
  http_request.timeout = options_.timeout;
  http_request.max_body_bytes = options_.max_reply_bytes;
  http_request.headers["content-type"] = "application/json";
  AddCredentialHeaders(options_.provider, options_.api_key, http_request.headers);
  // Invalid UTF-8 (a binary file read by a tool) is replaced rather than thrown on.
  ModelRequest sent = request;
  sent.stream = options_.stream;
  http_request.body = EncodeRequest(options_.provider, sent)
                          .dump(-1, ' ', false, Json::error_handler_t::replace);
  auto response = http_.Send(http_request);
  if (!response) return Fail(response.error());
  return ReplyFromHttpResponse(options_.provider, *response);
}

}  // namespace drover::agent
