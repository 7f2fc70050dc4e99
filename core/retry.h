// One retry/backoff policy: how many tries, how long to wait before each, and which errors are
// worth another try (Error's own retryable classification). Data plus a pure function.
// Thread-safe: plain values; Retry draws its jitter from a per-thread generator.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <utility>

#include "core/error.h"

namespace drover {

struct RetryPolicy {
  // What to do with a server-requested delay (Error::retry_after) above max_delay.
  enum class LongServerDelay {
    kCap,     // Wait max_delay, then try again.
    kGiveUp,  // Do not try again: the caller returns the error, retry_after and all.
  };

  int max_attempts = 3;  // Tries in all, the first included; below 1 counts as 1.
  // Backoff before try k+2 (k = 0, 1, ...): base_delay * 2^k, capped at max_delay. Default 1 s.
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_delay{30000};  // Default 30 s.
  // The random share of a backoff, 0 to 1: 0.5 waits half the delay plus up to the other half
  // at random, which spreads the retries of many callers that met the same limit. A server's
  // own delay is never jittered. Default 0 (fixed delays).
  double jitter = 0;
  LongServerDelay long_server_delay = LongServerDelay::kCap;
  // Try again only after kRateLimited, where the server refused without acting: for requests
  // that are not safe to repeat after a 5xx or a broken connection (a POST may have been done).
  // Default false: every error IsRetryable accepts.
  bool only_rate_limited = false;

  // How long to wait before the try after `attempt` (1-based) failed with `error`; nullopt when
  // there is none: the error is not retryable under this policy, `attempt` was the last, or the
  // server asked for more than max_delay under kGiveUp. `random` in [0, 1] picks the jittered
  // share (1: the whole delay). Pure.
  std::optional<std::chrono::milliseconds> DelayBefore(int attempt, const Error& error,
                                                       double random) const;
};

// A uniform draw in [0, 1] from a per-thread generator, for RetryPolicy::DelayBefore.
double RetryJitterSample();

// Calls `fn` (returning Result<T> or Status) until it succeeds or `policy` says to stop,
// calling `sleep` with each delay in between and `on_retry(error, delay)`, when given, just
// before. Returns the last result.
template <typename Fn>
auto Retry(const RetryPolicy& policy, const std::function<void(std::chrono::milliseconds)>& sleep,
           Fn&& fn,
           const std::function<void(const Error&, std::chrono::milliseconds)>& on_retry = {})
    -> decltype(fn()) {
  auto result = fn();
  for (int attempt = 1; !result; ++attempt) {
    auto delay = policy.DelayBefore(attempt, result.error(), RetryJitterSample());
    if (!delay) break;
    if (on_retry) on_retry(result.error(), *delay);
    sleep(*delay);
    result = fn();
  }
  return result;
}

}  // namespace drover
