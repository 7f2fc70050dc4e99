#include "forge/rest_client.h"

#include <utility>
#include <vector>

#include "core/http_status.h"
#include "core/retry.h"
#include "core/strings.h"

namespace drover::fleet {
namespace {

std::string Text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// GitHub's `errors`: strings, or objects with a message or resource/field/code.
std::string SummariseErrors(const Json& errors) {
  std::string summary;
  for (const Json& error : errors) {
    std::string item;
    if (error.is_string()) {
      item = error.get<std::string>();
    } else if (error.is_object()) {
      if (error.contains("message") && error["message"].is_string()) {
        item = error["message"].get<std::string>();
      } else {
        for (const char* key : {"resource", "field", "code"}) {
          if (error.contains(key) && error[key].is_string()) {
            if (!item.empty()) item += ' ';
            item += error[key].get<std::string>();
          }
        }
      }
    }
    if (item.empty()) continue;
    if (!summary.empty()) summary += "; ";
    summary += item;
  }
  return summary;
}

}  // namespace

std::string ForgeErrorMessage(std::string_view body) {
  auto json = ParseJson(body, "forge error");
  if (!json || !json->is_object()) {
    std::string text(Trim(body).substr(0, 200));
    return text.empty() ? "(no body)" : text;
  }
  const Json* message = json->contains("message") ? &(*json)["message"]
                        : json->contains("error") ? &(*json)["error"]
                                                  : nullptr;
  std::string text;
  auto append = [&](const std::string& item) {
    if (!text.empty()) text += "; ";
    text += item;
  };
  if (message == nullptr) {
    text = "(no message)";
  } else if (message->is_array()) {
    for (const Json& item : *message) append(Text(item));
  } else if (message->is_object()) {
    for (auto& [field, problems] : message->items()) {
      if (problems.is_array()) {
        for (const Json& item : problems) append(field + " " + Text(item));
      } else {
        append(field + " " + Text(problems));
      }
    }
  } else {
    text = Text(*message);
  }
  auto errors = json->find("errors");
  if (errors != json->end() && errors->is_array()) {
    if (std::string summary = SummariseErrors(*errors); !summary.empty()) {
      text += " (" + summary + ")";
    }
  }
  return text;
}

RestClientOptions ForgeRestClientOptions(const RestForgeOptions& options, std::string forge,
                                         RestAuth auth, HttpHeaders headers) {
  headers["user-agent"] = options.user_agent;
  return RestClientOptions{.forge = std::move(forge),
                           .token = options.token,
                           .auth = auth,
                           .headers = std::move(headers),
                           .request_timeout = options.request_timeout,
                           .max_attempts = options.max_attempts,
                           .max_wait = options.max_wait};
}

RestClient::RestClient(RestClientOptions options, HttpClient& http, ForgeGovernor& governor)
    : options_(std::move(options)),
      http_(http),
      governor_(governor),
      redactor_(std::vector<std::string>{options_.token}) {}

Result<Json> RestClient::Call(std::string_view api_base, std::string_view method,
                              const std::string& path, const std::optional<Json>& body) {
  std::string what = options_.forge + " " + std::string(method) + " " + path;
  HttpRequest request;
  request.method = std::string(method);
  request.url = std::string(api_base) + path;
  request.timeout = options_.request_timeout;
  request.headers = options_.headers;
  if (!options_.token.empty()) {
    switch (options_.auth) {
      case RestAuth::kBearer: request.headers["authorization"] = "Bearer " + options_.token; break;
      case RestAuth::kPrivateToken: request.headers["private-token"] = options_.token; break;
    }
  }
  if (body) {
    request.headers["content-type"] = "application/json";
    request.body = body->dump();
  }
  // Only what the forge refused without acting is sent again, after the governor's pause.
  const RetryPolicy policy{.max_attempts = options_.max_attempts,
                           .base_delay = std::chrono::milliseconds(0),
                           .max_delay = options_.max_wait,
                           .long_server_delay = RetryPolicy::LongServerDelay::kGiveUp,
                           .only_rate_limited = true};
  bool creates = method != "GET" && method != "HEAD";
  return Retry(
      policy, [this](std::chrono::milliseconds delay) { governor_.Sleep(delay); },
      [&] { return Attempt(request, creates, what); });
}

Result<Json> RestClient::Attempt(const HttpRequest& request, bool creates_content,
                                 const std::string& what) {
  if (auto wait = governor_.Acquire(creates_content, options_.max_wait); wait.count() > 0) {
    return Fail(Error{
        ErrorCode::kRateLimited,
        what + ": held back by the request governor for " + std::to_string(wait.count()) + " ms",
        wait});
  }
  auto response = http_.Send(request);
  if (!response) {
    return Fail(WithContext(Error{response.error().code, redactor_.Redact(response.error().message),
                                  response.error().retry_after},
                            what));
  }
  bool ok = response->status >= 200 && response->status < 300;
  std::string message = ok ? std::string() : ForgeErrorMessage(response->body);
  bool rate_limited =
      !ok && IsRateLimitAnswer(response->status, ParseRateLimitHeaders(response->headers), message);
  auto pause = governor_.OnResponse(response->status, response->headers, rate_limited);
  if (ok) {
    if (Trim(response->body).empty()) return Json();
    auto json = ParseJson(response->body, what);
    if (!json) return Fail(ErrorCode::kProtocol, json.error().message);
    return std::move(*json);
  }
  Error error = ErrorFromHttpStatus(response->status, what, message);
  error.message = redactor_.Redact(error.message);
  if (rate_limited) {
    error.code = ErrorCode::kRateLimited;
    error.retry_after = pause;
  }
  return Fail(std::move(error));
}

}  // namespace drover::fleet
