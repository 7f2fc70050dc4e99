#include "core/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

namespace drover {

std::optional<std::chrono::milliseconds> RetryPolicy::DelayBefore(int attempt, const Error& error,
                                                                  double random) const {
  using std::chrono::milliseconds;
  if (attempt >= std::max(1, max_attempts) || !IsRetryable(error)) return std::nullopt;
  if (only_rate_limited && error.code != ErrorCode::kRateLimited) return std::nullopt;
  const int64_t cap = std::max<int64_t>(0, max_delay.count());
  if (error.retry_after) {
    int64_t asked = std::max<int64_t>(0, error.retry_after->count());
    if (asked <= cap) return milliseconds(asked);
    if (long_server_delay == LongServerDelay::kGiveUp) return std::nullopt;
    return milliseconds(cap);
  }
  int64_t delay = std::max<int64_t>(0, base_delay.count());
  for (int i = 1; i < attempt && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  auto share = static_cast<int64_t>(static_cast<double>(delay) * std::clamp(jitter, 0.0, 1.0));
  auto drawn = static_cast<int64_t>(std::llround(static_cast<double>(share) *
                                                 std::clamp(random, 0.0, 1.0)));
  return milliseconds(delay - share + drawn);
}

double RetryJitterSample() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace drover
