#include "core/http_status.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

#include "core/strings.h"

namespace drover {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// Seconds since the epoch below this are read as seconds from now (2001-09-09).
constexpr int64_t kEpochThreshold = 1'000'000'000;

const std::string* Find(const HttpHeaders& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

std::optional<double> Number(std::string_view text) {
  text = Trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> Integer(std::string_view text) {
  text = Trim(text);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// IMF-fixdate, the form RFC 9110 requires senders to use: "Wed, 21 Oct 2015 07:28:00 GMT".
std::optional<system_clock::time_point> HttpDate(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || !Trim(end).empty()) return std::nullopt;
  return system_clock::from_time_t(::timegm(&tm));
}

milliseconds CeilMillis(double ms) {
  return milliseconds(ms <= 0 ? 0 : static_cast<int64_t>(std::ceil(ms)));
}

}  // namespace

Error ErrorFromHttpStatus(int status, std::string_view what, std::string_view excerpt) {
  ErrorCode code = ErrorCode::kProtocol;
  switch (status) {
    case 400:
    case 409:
    case 422: code = ErrorCode::kInvalidArgument; break;
    case 401:
    case 403: code = ErrorCode::kPermissionDenied; break;
    case 404: code = ErrorCode::kNotFound; break;
    case 408: code = ErrorCode::kUnavailable; break;
    case 429: code = ErrorCode::kRateLimited; break;
    default:
      if (status >= 500 && status < 600) code = ErrorCode::kUnavailable;
      break;
  }
  return Error{code,
               std::string(what) + ": " + std::to_string(status) + " " + std::string(excerpt),
               std::nullopt};
}

RateLimitInfo ParseRateLimitHeaders(const HttpHeaders& headers, system_clock::time_point now) {
  RateLimitInfo info;
  if (const std::string* ms = Find(headers, "retry-after-ms")) {
    if (auto value = Number(*ms)) info.retry_after = CeilMillis(*value);
  }
  if (const std::string* after = Find(headers, "retry-after"); after && !info.retry_after) {
    if (auto seconds = Number(*after)) {
      info.retry_after = CeilMillis(*seconds * 1000);
    } else if (auto when = HttpDate(*after)) {
      info.retry_after = std::max(milliseconds(0),
                                  std::chrono::duration_cast<milliseconds>(*when - now));
    }
  }

  for (const char* name : {"x-ratelimit-remaining", "ratelimit-remaining"}) {
    const std::string* text = Find(headers, name);
    if (text == nullptr) continue;
    if (auto value = Integer(*text)) {
      info.remaining = value;
      break;
    }
  }

  if (const std::string* text = Find(headers, "x-ratelimit-reset")) {
    if (auto epoch = Integer(*text)) info.reset = system_clock::time_point(std::chrono::seconds(*epoch));
  }
  if (const std::string* text = Find(headers, "ratelimit-reset"); text && !info.reset) {
    if (auto value = Integer(*text)) {
      info.reset = *value < kEpochThreshold
                       ? std::chrono::time_point_cast<system_clock::duration>(
                             now + std::chrono::seconds(std::max<int64_t>(0, *value)))
                       : system_clock::time_point(std::chrono::seconds(*value));
    }
  }
  if (const std::string* text = Find(headers, "ratelimit-resettime"); text && !info.reset) {
    info.reset = HttpDate(*text);
  }
  return info;
}

bool IsRateLimitAnswer(int status, const RateLimitInfo& info, std::string_view message) {
  if (status == 429) return true;
  if (status != 403) return false;
  return info.retry_after.has_value() || info.Exhausted() ||
         Lower(message).find("rate limit") != std::string::npos;
}

}  // namespace drover
