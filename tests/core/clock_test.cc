#include "core/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace drover {
namespace {

using std::chrono::milliseconds;

TEST(ManualClock, MovesOnlyWhenToldAndSleepingMovesIt) {
  const auto start = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  ManualClock clock(start);
  const auto monotonic = clock.MonotonicNow();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(milliseconds(1500));
  EXPECT_EQ(clock.Now() - start, milliseconds(1500));
  EXPECT_EQ(clock.MonotonicNow() - monotonic, milliseconds(1500));
  auto before = std::chrono::steady_clock::now();
  clock.SleepFor(std::chrono::hours(1));  // Returns at once.
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_EQ(clock.Now() - start, std::chrono::hours(1) + milliseconds(1500));
}

TEST(ManualClock, AdvancesFromManyThreadsAddUp) {
  ManualClock clock;
  const auto start = clock.MonotonicNow();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 250; ++i) clock.SleepFor(milliseconds(1));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(clock.MonotonicNow() - start, milliseconds(1000));
}

TEST(SystemClock, FollowsTheSystemsClocks) {
  Clock& clock = SystemClock();
  EXPECT_EQ(&clock, &SystemClock());
  auto wall = std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(clock.Now() - wall), std::chrono::seconds(5));
  auto before = clock.MonotonicNow();
  clock.SleepFor(milliseconds(20));
  EXPECT_GE(clock.MonotonicNow() - before, milliseconds(20));
}

}  // namespace
}  // namespace drover
