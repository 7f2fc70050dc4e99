// HTTP client interface (one real implementation over libcurl) and the plain request and
// response values shared by the client, the small server in http_server.h and the gateway.
// HttpClient implementations are safe to call from several threads at once.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

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
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // Lower-case names.
  std::string body;
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
