// What an HTTP answer means to drover: one mapping from a status to an Error, and one reader of
// the rate-limit headers every server drover talks to sends (model providers, GitHub, GitLab).
// Thread-safe: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "core/http.h"

namespace drover {

// The error for a non-2xx answer, its message "WHAT: STATUS EXCERPT" (`excerpt`: the server's
// message, already masked and bounded by the caller). 400, 409, 422 → kInvalidArgument (the
// request was refused as it stands); 401, 403 → kPermissionDenied; 404 → kNotFound;
// 429 → kRateLimited; 408 and 5xx → kUnavailable (worth another try); anything else →
// kProtocol. retry_after is left unset: see ParseRateLimitHeaders.
Error ErrorFromHttpStatus(int status, std::string_view what, std::string_view excerpt);

// The rate-limit headers of one answer, in every spelling met so far.
struct RateLimitInfo {
  // `retry-after-ms`, else `Retry-After` in seconds (fractions allowed) or as an HTTP-date;
  // never negative.
  std::optional<std::chrono::milliseconds> retry_after;
  // Requests left in the window: `x-ratelimit-remaining` (GitHub), `ratelimit-remaining`
  // (GitLab, the IETF draft).
  std::optional<int64_t> remaining;
  // When the window starts again: `x-ratelimit-reset` (epoch seconds), `ratelimit-reset`
  // (epoch seconds as GitLab sends it, or seconds from now as the IETF draft has it: values
  // below 10^9 are taken as the latter), `ratelimit-resettime` (GitLab's HTTP-date).
  std::optional<std::chrono::system_clock::time_point> reset;

  bool Exhausted() const { return remaining.has_value() && *remaining <= 0; }
};

// Reads `headers` (lower-case names, as HttpClient returns them); `now` places an HTTP-date or
// a relative reset in time. Values that do not parse are left unset.
RateLimitInfo ParseRateLimitHeaders(
    const HttpHeaders& headers,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// True when an answer is a rate limit rather than what its status says: 429, or a 403 that
// names a delay, reports the quota used up, or says "rate limit" in `message` (GitHub's
// secondary limits sometimes say so only in the body).
bool IsRateLimitAnswer(int status, const RateLimitInfo& info, std::string_view message);

}  // namespace drover
