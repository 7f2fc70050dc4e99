// Time for a ForgeGovernor that moves only when something sleeps on it (or a test advances it),
// so rate-limit waits are recorded instead of waited. Thread-safe: one mutex.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "forge/forge_governor.h"

namespace drover::testing {

struct FakeGovernorClock {
  std::mutex mutex;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point wall{std::chrono::seconds(1'700'000'000)};
  std::vector<std::chrono::milliseconds> sleeps;  // Every sleep, in order.

  void Advance(std::chrono::milliseconds by) {
    std::lock_guard lock(mutex);
    now += by;
    wall += by;
  }
  long long WallEpoch() {
    std::lock_guard lock(mutex);
    return std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
  }
  // REQUIRES: the clock outlives the governor given this.
  fleet::GovernorClock Clock() {
    return fleet::GovernorClock{
        [this] {
          std::lock_guard lock(mutex);
          return now;
        },
        [this] {
          std::lock_guard lock(mutex);
          return wall;
        },
        [this](std::chrono::milliseconds duration) {
          {
            std::lock_guard lock(mutex);
            sleeps.push_back(duration);
          }
          Advance(duration);
        },
    };
  }
};

}  // namespace drover::testing
