// ModelClient over HTTP: OpenAI Chat Completions, the Responses API or Anthropic Messages, to a
// provider or to the gateway's Unix socket. No retries here (the gateway retries upstream).
// Thread-safety: an HttpModelClient is used by one thread; the free functions are pure.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "llm/model.h"
#include "core/error.h"
#include "core/http.h"

namespace drover::agent {

struct HttpModelClientOptions {
  Provider provider = Provider::kOpenAiChat;
  // Model name sent in each request comes from ModelRequest.model; this one is informational.
  std::string model;
  // In the provider's convention (see UpstreamUrl in protocol.h), e.g. "http://gateway/v1".
  std::string base_url;
  // Connect through this Unix socket (the gateway); unset: TCP to base_url.
  std::optional<std::string> unix_socket;
  // Empty: no credential header is sent (the gateway adds it).
  std::string api_key;
  // Whole-call deadline. Default 10 minutes.
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Ask for the reply as server-sent events (read once complete). Default false.
  bool stream = false;
  // A reply body (JSON or the whole event stream) above this many bytes is refused when it
  // reaches it, before it is decoded, so no more than this is ever held. Default 8 MiB, the
  // gateway's own limit on what it takes from a provider.
  size_t max_reply_bytes = size_t{8} << 20;
};

class HttpModelClient : public ModelClient {
 public:
  // `http` is borrowed and must outlive the client.
  HttpModelClient(HttpModelClientOptions options, HttpClient& http);

  // Errors as in ModelClient; also kTimeout/kUnavailable from the transport, and kProtocol
  // for a reply above max_reply_bytes.
  Result<ModelReply> Complete(const ModelRequest& request) override;

 private:
  HttpModelClientOptions options_;
  HttpClient& http_;
};

// The delay a response asks for: "retry-after-ms", else "retry-after" in seconds (fractions
// allowed) or as an HTTP date relative to `now`. Never negative.
std::optional<std::chrono::milliseconds> RetryAfterFromHeaders(
    const HttpHeaders& headers,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Maps a provider (or gateway) response to a reply or an error: 2xx → decoded reply, from
// server-sent events when the content type is text/event-stream (kParse, kProtocol, or the
// stream's own error); 429 → kRateLimited; 408, 5xx and 529 → kUnavailable; other statuses →
// kProtocol. Gateway refusals (header x-drover-error) take precedence: budget_exhausted →
// kBudgetExhausted, upstream_unavailable → kUnavailable, anything else → kProtocol (retrying
// a cassette mismatch cannot help). retry_after is filled from the headers.
Result<ModelReply> ReplyFromHttpResponse(Provider provider, const HttpResponse& response);

}  // namespace drover::agent
