#include "core/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string_view>
#include <vector>

namespace drover {
namespace {

std::once_flag curl_init_once;

struct ResponseSink {
  HttpResponse response;
  CURL* handle = nullptr;
  const HttpRequest* request = nullptr;
  bool aborted = false;  // on_body asked to stop.
  size_t body_bytes = 0;
  bool too_large = false;  // The body passed request->max_body_bytes.
  // The stall watchdog: when the last byte arrived, and whether it fired.
  curl_off_t received = 0;
  std::chrono::steady_clock::time_point last_byte = std::chrono::steady_clock::now();
  bool stalled = false;
};

// libcurl calls this about once a second, and whenever data moves.
int OnProgress(void* user, curl_off_t /*dltotal*/, curl_off_t dlnow, curl_off_t /*ultotal*/,
               curl_off_t ulnow) {
  auto* sink = static_cast<ResponseSink*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (dlnow + ulnow != sink->received) {
    sink->received = dlnow + ulnow;
    sink->last_byte = now;
    return 0;
  }
  if (now - sink->last_byte < *sink->request->inactivity_timeout) return 0;
  sink->stalled = true;
  return 1;  // Non-zero aborts the transfer.
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<ResponseSink*>(user);
  sink->body_bytes += size * count;
  if (sink->request->max_body_bytes && sink->body_bytes > *sink->request->max_body_bytes) {
    sink->too_large = true;
    return 0;
  }
  if (!sink->request->on_body) {
    sink->response.body.append(data, size * count);
    return size * count;
  }
  long status = 0;
  curl_easy_getinfo(sink->handle, CURLINFO_RESPONSE_CODE, &status);
  if (sink->request->on_body(static_cast<int>(status), std::string_view(data, size * count))) {
    return size * count;
  }
  sink->aborted = true;
  return 0;  // Anything but the full count makes curl stop with CURLE_WRITE_ERROR.
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<ResponseSink*>(user);
  std::string_view line(data, size * count);
  // A new status line starts a new response (after "100 Continue" or a proxy's CONNECT);
  // only the headers of the final one count.
  if (line.starts_with("HTTP/")) {
    sink->response.headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name = LowerHeaderName(std::string(Trim(line.substr(0, colon))));
  std::string value(Trim(line.substr(colon + 1)));
  auto [it, inserted] = sink->response.headers.emplace(name, value);
  if (!inserted) it->second += ", " + value;
  return size * count;
}

Error CurlError(CURLcode code, const char* detail, const HttpRequest& request) {
  std::string message = request.method + " " + request.url;
  if (request.unix_socket) message += " (via " + *request.unix_socket + ")";
  message += ": ";
  message += detail[0] != '\0' ? detail : curl_easy_strerror(code);
  ErrorCode kind = ErrorCode::kUnavailable;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      kind = ErrorCode::kTimeout;
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      kind = ErrorCode::kInvalidArgument;
      break;
    case CURLE_WEIRD_SERVER_REPLY:
      kind = ErrorCode::kProtocol;
      break;
    default:
      // Connect, resolve, send, receive, reset, TLS: the peer could not be talked to.
      kind = ErrorCode::kUnavailable;
      break;
  }
  return Error{kind, std::move(message), std::nullopt};
}

bool IsLoopbackUrl(std::string_view url) {
  for (std::string_view prefix : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (url.starts_with(prefix)) {
      char next = url.size() > prefix.size() ? url[prefix.size()] : '/';
      if (next == ':' || next == '/') return true;
    }
  }
  return false;
}

// Keeps a few idle easy handles so consecutive requests reuse their connections; each Send
// owns its handle exclusively while it runs.
class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient() {
    std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  ~CurlHttpClient() override {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Result<HttpResponse> Send(const HttpRequest& request) override {
    CURL* handle = Acquire();
    if (handle == nullptr) return Fail(ErrorCode::kInternal, "curl_easy_init failed");
    auto result = Perform(handle, request);
    Release(handle);
    return result;
  }

 private:
  static constexpr size_t kMaxIdleHandles = 8;

  CURL* Acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* handle) {
    // Reset clears options but keeps the connection cache.
    curl_easy_reset(handle);
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(handle);
      return;
    }
    curl_easy_cleanup(handle);
  }

  static Result<HttpResponse> Perform(CURL* handle, const HttpRequest& request) {
    ResponseSink sink;
    sink.handle = handle;
    sink.request = &request;
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      headers = curl_slist_append(headers, line.c_str());
    }
    // Without this curl waits for "100 Continue" before sending large bodies.
    headers = curl_slist_append(headers, "Expect:");

    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    if (request.inactivity_timeout) {
      // Not CURLOPT_LOW_SPEED_TIME: it averages over a window, so a stall after a burst of
      // events is noticed seconds late.
      curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &sink);
      curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &sink);
    if (request.unix_socket) {
      curl_easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket->c_str());
    }
    if (request.unix_socket || IsLoopbackUrl(request.url)) {
      // A proxy from the environment must never see local traffic.
      curl_easy_setopt(handle, CURLOPT_PROXY, "");
    }

    if (request.method == "GET" && request.body.empty()) {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
      if (request.method != "POST") {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      }
    }

    CURLcode code = curl_easy_perform(handle);
    curl_slist_free_all(headers);
    if (sink.stalled) {
      return Fail(ErrorCode::kTimeout,
                  request.method + " " + request.url + ": no data for " +
                      std::to_string(request.inactivity_timeout->count()) + " ms (stalled)");
    }
    if (sink.too_large) {
      const size_t limit = *request.max_body_bytes;
      std::string limit_text = limit % (size_t{1} << 20) == 0 ? std::to_string(limit >> 20) + " MiB"
                                                              : std::to_string(limit) + " bytes";
      return Fail(ErrorCode::kProtocol, request.method + " " + request.url +
                                            ": the response body is larger than " + limit_text +
                                            " (the limit); refused");
    }
    if (sink.aborted) {
      return Fail(ErrorCode::kCancelled,
                  request.method + " " + request.url + ": the body's reader stopped the transfer");
    }
    if (code != CURLE_OK) return std::unexpected(CurlError(code, error_buffer, request));
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    sink.response.status = static_cast<int>(status);
    return std::move(sink.response);
  }

  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::unique_ptr<HttpClient> MakeCurlHttpClient() { return std::make_unique<CurlHttpClient>(); }

std::string LowerHeaderName(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

}  // namespace drover
