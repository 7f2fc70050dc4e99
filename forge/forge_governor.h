// Keeps one forge token inside its documented request limits, shared by every job thread
// that publishes through it, and pauses everyone when the forge says to back off.
// Thread-safe: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "core/http.h"

namespace drover::fleet {

// GitHub's documented limits for one token (REST "Rate limits" and "secondary rate limits").
struct ForgeGovernorOptions {
  int requests_per_hour = 5000;          // All requests. Default 5,000.
  int content_requests_per_minute = 80;  // POST/PATCH/PUT/DELETE. Default 80.
  int content_requests_per_hour = 500;   // POST/PATCH/PUT/DELETE. Default 500.
  // Pause after a rate-limit answer that names no delay; GitHub asks for at least a minute.
  std::chrono::milliseconds default_backoff{std::chrono::seconds(60)};
};

// The governor's view of time, injectable so tests need not wait.
struct GovernorClock {
  std::function<std::chrono::steady_clock::time_point()> steady_now;
  // For `x-ratelimit-reset`, which is in epoch seconds.
  std::function<std::chrono::system_clock::time_point()> wall_now;
  std::function<void(std::chrono::milliseconds)> sleep;
};

// The process clocks and std::this_thread::sleep_for.
GovernorClock RealGovernorClock();

class ForgeGovernor {
 public:
  explicit ForgeGovernor(ForgeGovernorOptions options = {},
                         GovernorClock clock = RealGovernorClock());

  // Records the request and returns zero when it may go now; otherwise records nothing and
  // returns how long to wait before asking again.
  std::chrono::milliseconds TryAcquire(bool creates_content);

  // Blocks (through clock.sleep) until TryAcquire admits the request and returns zero; when
  // the wait needed exceeds `max_wait`, returns that wait at once and records nothing.
  std::chrono::milliseconds Acquire(
      bool creates_content, std::chrono::milliseconds max_wait = std::chrono::milliseconds::max());

  // Reacts to a response: a 403/429 with `retry-after`, or any response whose quota is used up
  // (`x-ratelimit-remaining: 0` or GitLab's `ratelimit-remaining`) with a reset time, pauses
  // every caller until then (headers read by ParseRateLimitHeaders).
  // A 403/429 the caller knows is a rate limit but that names no delay should be passed
  // with `rate_limited` = true (GitHub's secondary limits sometimes say so only in the body).
  // Returns the pause now in force, if this response caused or extended one.
  std::optional<std::chrono::milliseconds> OnResponse(int status, const HttpHeaders& headers,
                                                      bool rate_limited = false);

  // Remaining pause; zero when none.
  std::chrono::milliseconds PauseRemaining();

  // Waits `duration` on the governor's clock (fake time in tests), for callers that wait out a
  // pause this governor announced.
  void Sleep(std::chrono::milliseconds duration) { clock_.sleep(duration); }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  static void DropBefore(std::deque<TimePoint>& times, TimePoint cutoff);

  ForgeGovernorOptions options_;
  GovernorClock clock_;
  std::mutex mutex_;                // Guards everything below.
  std::deque<TimePoint> requests_;  // Within the last hour.
  std::deque<TimePoint> content_;   // Content-creating, within the last hour.
  TimePoint paused_until_{};
};

}  // namespace drover::fleet
