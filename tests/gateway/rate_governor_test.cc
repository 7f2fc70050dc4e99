#include "gateway/rate_governor.h"

#include <gtest/gtest.h>

namespace drover::fleet {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A clock that only moves when someone sleeps.
struct FakeTime {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  std::vector<milliseconds> sleeps;
  RateGovernor Governor(RateLimits limits) {
    return RateGovernor(
        limits, [this] { return now; },
        [this](milliseconds d) {
          sleeps.push_back(d);
          now += d;
        });
  }
};

TEST(RateGovernor, RequestsPerMinute) {
  FakeTime time;
  auto governor = time.Governor({2, 0});
  EXPECT_EQ(governor.Acquire(), milliseconds(0));
  time.now += seconds(10);
  EXPECT_EQ(governor.Acquire(), milliseconds(0));
  // The third waits until the first leaves the minute: 50 s from here.
  EXPECT_EQ(governor.Wait(), seconds(50));
  EXPECT_EQ(governor.Acquire(), seconds(50));
  EXPECT_EQ(time.sleeps, std::vector<milliseconds>{seconds(50)});
}

TEST(RateGovernor, TokensPerMinute) {
  FakeTime time;
  auto governor = time.Governor({0, 1000});
  EXPECT_EQ(governor.Acquire(), milliseconds(0));
  governor.AddTokens(600);
  time.now += seconds(20);
  EXPECT_EQ(governor.Acquire(), milliseconds(0));
  governor.AddTokens(600);  // 1,200 in the minute: the next waits until the first 600 age out.
  EXPECT_EQ(governor.Acquire(), seconds(40));
}

TEST(RateGovernor, PauseHoldsEveryoneAndAShorterOneDoesNotCutIt) {
  FakeTime time;
  auto governor = time.Governor({0, 0});
  governor.PauseFor(seconds(7));
  governor.PauseFor(seconds(2));
  EXPECT_EQ(governor.Wait(), seconds(7));
  EXPECT_EQ(governor.Acquire(), seconds(7));
  EXPECT_EQ(governor.Acquire(), milliseconds(0));
}

TEST(RateGovernor, UnlimitedNeverWaits) {
  FakeTime time;
  auto governor = time.Governor({});
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(governor.Acquire(), milliseconds(0));
  EXPECT_TRUE(time.sleeps.empty());
}

}  // namespace
}  // namespace drover::fleet
