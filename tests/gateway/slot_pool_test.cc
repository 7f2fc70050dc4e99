#include "gateway/slot_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
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

TEST(SlotPoolLimits, AnOwnerLimitedToOneLeaseGetsOne) {
  SlotPool pool(2);
  LeaseLimits one;
  one.one_per_owner = true;
  auto first = pool.Acquire("hog", std::chrono::milliseconds(0), one);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(pool.Acquire("hog", std::chrono::milliseconds(200), one).has_value());
  EXPECT_EQ(pool.HeldBy("hog"), 1);
  EXPECT_TRUE(pool.Acquire("other", std::chrono::milliseconds(0), one).has_value());
  EXPECT_TRUE(pool.Release(*first, "hog"));
  EXPECT_TRUE(pool.Acquire("hog", std::chrono::milliseconds(0), one).has_value());
}

TEST(SlotPoolLimits, ALeaseHeldPastItsMaximumIsTakenBackForTheWaiter) {
  SlotPool pool(1);
  LeaseLimits bounded;
  bounded.max_hold = std::chrono::milliseconds(300);
  auto hog = pool.Acquire("hog", std::chrono::milliseconds(0), bounded);
  ASSERT_TRUE(hog.has_value());
  auto started = std::chrono::steady_clock::now();
  auto waiter = pool.Acquire("other", std::chrono::seconds(10));
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(waiter.has_value());
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_FALSE(pool.Release(*hog, "hog"));  // Already taken back.
  EXPECT_EQ(pool.HeldBy("hog"), 0);
  EXPECT_TRUE(pool.Release(*waiter, "other"));
}

TEST(SlotPoolLimits, WaitersAreServedInTheOrderTheyCame) {
  SlotPool pool(1);
  auto held = pool.Acquire("first", std::chrono::milliseconds(0));
  ASSERT_TRUE(held.has_value());
  std::mutex order_mutex;
  std::vector<std::string> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&, i] {
      std::string name = "w" + std::to_string(i);
      auto lease = pool.Acquire(name, std::chrono::seconds(20));
      ASSERT_TRUE(lease.has_value());
      {
        std::lock_guard lock(order_mutex);
        order.push_back(name);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      pool.Release(*lease, name);
    });
    // Each waiter queues before the next one starts.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  pool.Release(*held, "first");
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(order, (std::vector<std::string>{"w0", "w1", "w2", "w3", "w4"}));
}

}  // namespace
}  // namespace drover::fleet
