#include "forge/forge_governor.h"

#include <algorithm>
#include <string>
#include <thread>

#include "core/http_status.h"

namespace drover::fleet {
namespace {

using std::chrono::milliseconds;

milliseconds CeilMillis(std::chrono::steady_clock::duration duration) {
  return std::max(milliseconds(0), std::chrono::ceil<milliseconds>(duration));
}

}  // namespace

GovernorClock RealGovernorClock() {
  return GovernorClock{
      [] { return std::chrono::steady_clock::now(); },
      [] { return std::chrono::system_clock::now(); },
      [](milliseconds duration) { std::this_thread::sleep_for(duration); },
  };
}

ForgeGovernor::ForgeGovernor(ForgeGovernorOptions options, GovernorClock clock)
    : options_(options), clock_(std::move(clock)) {}

void ForgeGovernor::DropBefore(std::deque<TimePoint>& times, TimePoint cutoff) {
  while (!times.empty() && times.front() <= cutoff) times.pop_front();
}

milliseconds ForgeGovernor::TryAcquire(bool creates_content) {
  using std::chrono::hours;
  using std::chrono::minutes;
  std::lock_guard lock(mutex_);
  TimePoint now = clock_.steady_now();
  DropBefore(requests_, now - hours(1));
  DropBefore(content_, now - hours(1));

  TimePoint ready = std::max(now, paused_until_);
  // With n recorded and a limit of L, the (n - L)-th oldest must leave the window first.
  auto window_ready = [&](const std::deque<TimePoint>& times, size_t limit,
                          std::chrono::steady_clock::duration window) {
    if (limit == 0 || times.size() < limit) return;
    ready = std::max(ready, times[times.size() - limit] + window);
  };
  window_ready(requests_, static_cast<size_t>(std::max(0, options_.requests_per_hour)), hours(1));
  if (creates_content) {
    window_ready(content_, static_cast<size_t>(std::max(0, options_.content_requests_per_hour)),
                 hours(1));
    window_ready(content_, static_cast<size_t>(std::max(0, options_.content_requests_per_minute)),
                 minutes(1));
  }
  if (ready > now) return std::max(milliseconds(1), CeilMillis(ready - now));

  requests_.push_back(now);
  if (creates_content) content_.push_back(now);
  return milliseconds(0);
}

milliseconds ForgeGovernor::Acquire(bool creates_content, milliseconds max_wait) {
  for (milliseconds wait = TryAcquire(creates_content); wait > milliseconds(0);
       wait = TryAcquire(creates_content)) {
    if (wait > max_wait) return wait;
    clock_.sleep(wait);
  }
  return milliseconds(0);
}

std::optional<milliseconds> ForgeGovernor::OnResponse(int status, const HttpHeaders& headers,
                                                      bool rate_limited) {
  bool limit_status = status == 403 || status == 429;
  auto wall_now = clock_.wall_now();
  RateLimitInfo info = ParseRateLimitHeaders(headers, wall_now);
  std::optional<milliseconds> pause;
  if (info.retry_after && limit_status) {
    pause = *info.retry_after;
  } else if (info.Exhausted()) {
    if (info.reset) {
      // One extra second: the reset is whole seconds and clocks drift.
      pause = std::max(milliseconds(0), std::chrono::ceil<milliseconds>(*info.reset - wall_now)) +
              milliseconds(1000);
    } else if (limit_status) {
      pause = options_.default_backoff;
    }
  } else if (limit_status && rate_limited) {
    pause = options_.default_backoff;
  }
  if (!pause) return std::nullopt;

  std::lock_guard lock(mutex_);
  TimePoint until = clock_.steady_now() + *pause;
  if (until > paused_until_) paused_until_ = until;
  return pause;
}

milliseconds ForgeGovernor::PauseRemaining() {
  std::lock_guard lock(mutex_);
  return CeilMillis(paused_until_ - clock_.steady_now());
}

}  // namespace drover::fleet
