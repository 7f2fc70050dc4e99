// The fleet-wide model rate governor: requests and tokens per minute for one provider key,
// shared by every job of a run, and a pause for everyone when the provider says 429 with
// Retry-After. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace drover::fleet {

struct RateLimits {
  int requests_per_minute = 0;   // 0: not limited.
  int64_t tokens_per_minute = 0;  // Input + output; 0: not limited.
};

class RateGovernor {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  // `now` and `sleep` default to the real clock; tests pass a fake pair (sleep advancing now).
  explicit RateGovernor(RateLimits limits, Clock now = {}, Sleep sleep = {});

  // How long a request would have to wait now (0: it may go).
  std::chrono::milliseconds Wait();
  // Blocks until a request may go and counts it; returns the time waited.
  std::chrono::milliseconds Acquire();
  // Counts the tokens a reply used (they limit the requests that follow).
  void AddTokens(int64_t tokens);
  // Nobody sends before `delay` has passed (a 429 with Retry-After for one job holds all).
  void PauseFor(std::chrono::milliseconds delay);

 private:
  std::chrono::milliseconds WaitLocked(std::chrono::steady_clock::time_point now);

  const RateLimits limits_;
  Clock now_;
  Sleep sleep_;
  std::mutex mutex_;
  std::deque<std::chrono::steady_clock::time_point> sent_;  // Within the last minute.
  std::deque<std::pair<std::chrono::steady_clock::time_point, int64_t>> tokens_;
  int64_t tokens_in_window_ = 0;
  std::chrono::steady_clock::time_point paused_until_{};
};

}  // namespace drover::fleet
