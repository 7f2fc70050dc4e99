#include "fleet/slot_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace drover::fleet {
namespace {

using std::chrono::milliseconds;

TEST(SlotPool, NeverLeasesMoreThanItHas) {
  SlotPool slots(2);
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      SlotPool::Scoped slot(&slots, "job" + std::to_string(i));
      int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(milliseconds(20));
      --running;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(peak.load(), 2);
  EXPECT_EQ(slots.in_use(), 0);
}

TEST(SlotPool, WaitRunsOutWhenAllAreHeld) {
  SlotPool slots(1);
  auto held = slots.Acquire("a", milliseconds(0));
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(slots.Acquire("b", milliseconds(30)).has_value());
  EXPECT_FALSE(slots.Release(*held, "b"));  // Only its owner returns a lease.
  EXPECT_TRUE(slots.Release(*held, "a"));
  EXPECT_FALSE(slots.Release(*held, "a"));
  EXPECT_TRUE(slots.Acquire("b", milliseconds(0)).has_value());
}

TEST(SlotPool, RevokingAnOwnerFreesItsLeasesAndTurnsAwayItsWaiters) {
  SlotPool slots(1);
  ASSERT_TRUE(slots.Acquire("other", milliseconds(0)).has_value());
  std::optional<int64_t> waited = 7;
  std::thread waiter([&] { waited = slots.Acquire("dead", std::chrono::seconds(10)); });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(slots.RevokeOwner("dead"), 0);
  waiter.join();
  EXPECT_FALSE(waited.has_value());  // Not granted later to an attempt that is over.
  EXPECT_EQ(slots.RevokeOwner("other"), 1);
  EXPECT_EQ(slots.in_use(), 0);
  // The owner may lease again afterwards (its next attempt).
  EXPECT_TRUE(slots.Acquire("dead", milliseconds(0)).has_value());
}

}  // namespace
}  // namespace drover::fleet
