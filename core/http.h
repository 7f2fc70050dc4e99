// HTTP client interface (one real implementation over libcurl) and the plain request and
// response values shared by the client, the small server in http_server.h and the gateway.
// HttpClient implementations are safe to call from several threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace drover {

// Header names are stored lower-case.
using HttpHeaders = std::map<std::string, std::string>;

struct HttpRequest {
  std::string method = "GET";
  // Absolute URL ("http://host:port/path?q"); with `unix_socket` set, the host part is only
  // used for the Host header.
  std::string url;
  HttpHeaders headers;
  std::string body;
  // Connect over this Unix domain socket instead of TCP (the gateway socket).
  std::optional<std::string> unix_socket;
  // Whole-request deadline; default 10 minutes (model calls can be slow).
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Streaming: when set, the response body is handed over in chunks as they arrive, with the
  // response's status, instead of being collected in HttpResponse::body. Returning false
  // aborts the transfer (the call then fails with kCancelled).
  std::function<bool(int status, std::string_view chunk)> on_body;
  // Watchdog for stalled streams: fail with kTimeout once no byte has moved for this long
  // (checked about once a second). Unset: only `timeout` applies.
  std::optional<std::chrono::milliseconds> inactivity_timeout;
  // Refuse a response body larger than this many bytes, collected or handed to `on_body`:
  // the transfer stops when the body reaches it, so no more than this is ever held, and the
  // call fails with kProtocol naming the limit. Unset: no limit.
  std::optional<size_t> max_body_bytes;
};

// Writes one piece of a streamed response body; false once the peer is gone.
using HttpBodyWriter = std::function<bool(std::string_view chunk)>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // Lower-case names.
  std::string body;
  // Server side only: when set, HttpServer sends the body with chunked transfer encoding as
  // this function writes it (it may pause between pieces), and `body` is ignored.
  std::function<void(const HttpBodyWriter& write)> stream_body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Returns the response for any HTTP status (4xx/5xx are responses, not errors).
  // Errors: kUnavailable (connect/DNS/reset), kTimeout (deadline), kInvalidArgument (bad URL).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// The libcurl implementation.
std::unique_ptr<HttpClient> MakeCurlHttpClient();

// Lower-cases an ASCII header name.
std::string LowerHeaderName(std::string name);

}  // namespace drover
