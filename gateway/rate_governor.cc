#include "gateway/rate_governor.h"

#include <algorithm>
#include <thread>

namespace drover::fleet {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {
constexpr auto kWindow = std::chrono::minutes(1);

milliseconds Until(steady_clock::time_point from, steady_clock::time_point to) {
  if (to <= from) return milliseconds(0);
  // Rounded up, so that waiting this long is always enough.
  return std::chrono::ceil<milliseconds>(to - from);
}
}  // namespace

RateGovernor::RateGovernor(RateLimits limits, Clock now, Sleep sleep)
    : limits_(limits), now_(std::move(now)), sleep_(std::move(sleep)) {
  if (!now_) now_ = [] { return steady_clock::now(); };
  if (!sleep_) sleep_ = [](milliseconds d) { std::this_thread::sleep_for(d); };
}

milliseconds RateGovernor::WaitLocked(steady_clock::time_point now) {
  while (!sent_.empty() && sent_.front() + kWindow <= now) sent_.pop_front();
  while (!tokens_.empty() && tokens_.front().first + kWindow <= now) {
    tokens_in_window_ -= tokens_.front().second;
    tokens_.pop_front();
  }
  milliseconds wait = Until(now, paused_until_);
  if (limits_.requests_per_minute > 0 &&
      static_cast<int>(sent_.size()) >= limits_.requests_per_minute) {
    wait = std::max(wait, Until(now, sent_.front() + kWindow));
  }
  if (limits_.tokens_per_minute > 0 && tokens_in_window_ >= limits_.tokens_per_minute &&
      !tokens_.empty()) {
    wait = std::max(wait, Until(now, tokens_.front().first + kWindow));
  }
  return wait;
}

milliseconds RateGovernor::Wait() {
  std::lock_guard lock(mutex_);
  return WaitLocked(now_());
}

milliseconds RateGovernor::Acquire() {
  milliseconds waited{0};
  while (true) {
    milliseconds wait;
    {
      std::lock_guard lock(mutex_);
      auto now = now_();
      wait = WaitLocked(now);
      if (wait.count() == 0) {
        sent_.push_back(now);
        return waited;
      }
    }
    sleep_(wait);
    waited += wait;
  }
}

void RateGovernor::AddTokens(int64_t tokens) {
  if (tokens <= 0) return;
  std::lock_guard lock(mutex_);
  tokens_.emplace_back(now_(), tokens);
  tokens_in_window_ += tokens;
}

void RateGovernor::PauseFor(milliseconds delay) {
  std::lock_guard lock(mutex_);
  paused_until_ = std::max(paused_until_, now_() + delay);
}

}  // namespace drover::fleet
