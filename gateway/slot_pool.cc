#include "gateway/slot_pool.h"

#include <algorithm>

namespace drover::fleet {

SlotPool::SlotPool(int slots) : capacity_(std::max(1, slots)) {}

std::optional<int64_t> SlotPool::Acquire(std::string_view owner, std::chrono::milliseconds wait,
                                         LeaseLimits limits) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point until = Clock::now() + wait;
  std::unique_lock lock(mutex_);
  auto epoch = [&] {
    auto it = epochs_.find(owner);
    return it == epochs_.end() ? uint64_t{0} : it->second;
  };
  const uint64_t start = epoch();
  const uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  std::optional<int64_t> granted;
  while (true) {
    ReclaimExpired();
    if (epoch() != start) break;
    if (limits.one_per_owner && std::ranges::any_of(leases_, [&](const auto& lease) {
          return lease.second.owner == owner;
        })) {
      break;
    }
    if (static_cast<int>(leases_.size()) < capacity_ && waiting_.front() == ticket) {
      granted = next_lease_++;
      Lease lease{std::string(owner), std::nullopt};
      if (limits.max_hold.count() > 0) lease.expires = Clock::now() + limits.max_hold;
      leases_.emplace(*granted, std::move(lease));
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now >= until) break;
    Clock::time_point wake = until;
    for (const auto& [id, lease] : leases_) {
      if (lease.expires) wake = std::min(wake, *lease.expires);
    }
    freed_.wait_until(lock, wake);
  }
  std::erase(waiting_, ticket);
  lock.unlock();
  // The next in line may be served now that this one has left the queue.
  freed_.notify_all();
  return granted;
}

void SlotPool::ReclaimExpired() const {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(leases_, [&](const auto& lease) {
    return lease.second.expires && *lease.second.expires <= now;
  });
}

int SlotPool::HeldBy(std::string_view owner) const {
  std::lock_guard lock(mutex_);
  ReclaimExpired();
  return static_cast<int>(std::ranges::count_if(
      leases_, [&](const auto& lease) { return lease.second.owner == owner; }));
}

bool SlotPool::Release(int64_t lease, std::string_view owner) {
  {
    std::lock_guard lock(mutex_);
    ReclaimExpired();
    auto it = leases_.find(lease);
    if (it == leases_.end() || it->second.owner != owner) return false;
    leases_.erase(it);
  }
  freed_.notify_all();
  return true;
}

int SlotPool::RevokeOwner(std::string_view owner) {
  int taken = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = epochs_.find(owner);
    if (it == epochs_.end()) it = epochs_.emplace(std::string(owner), 0).first;
    ++it->second;
    taken = static_cast<int>(
        std::erase_if(leases_, [&](const auto& lease) { return lease.second.owner == owner; }));
  }
  freed_.notify_all();
  return taken;
}

int SlotPool::in_use() const {
  std::lock_guard lock(mutex_);
  ReclaimExpired();
  return static_cast<int>(leases_.size());
}

SlotPool::Scoped::Scoped(SlotPool* slots, std::string_view owner) : slots_(slots), owner_(owner) {
  while (slots_ != nullptr && !lease_) lease_ = slots_->Acquire(owner_, std::chrono::seconds(60));
}

SlotPool::Scoped::~Scoped() {
  if (slots_ != nullptr && lease_) slots_->Release(*lease_, owner_);
}

}  // namespace drover::fleet
