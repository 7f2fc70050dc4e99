#include "fleet/slot_pool.h"

#include <algorithm>

namespace drover::fleet {

SlotPool::SlotPool(int slots) : capacity_(std::max(1, slots)) {}

std::optional<int64_t> SlotPool::Acquire(std::string_view owner, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  auto epoch = [&] {
    auto it = epochs_.find(owner);
    return it == epochs_.end() ? uint64_t{0} : it->second;
  };
  uint64_t start = epoch();
  bool granted = freed_.wait_for(
      lock, wait, [&] { return epoch() != start || static_cast<int>(leases_.size()) < capacity_; });
  if (!granted || epoch() != start) return std::nullopt;
  int64_t lease = next_lease_++;
  leases_.emplace(lease, std::string(owner));
  return lease;
}

bool SlotPool::Release(int64_t lease, std::string_view owner) {
  {
    std::lock_guard lock(mutex_);
    auto it = leases_.find(lease);
    if (it == leases_.end() || it->second != owner) return false;
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
        std::erase_if(leases_, [&](const auto& lease) { return lease.second == owner; }));
  }
  freed_.notify_all();
  return taken;
}

int SlotPool::in_use() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(leases_.size());
}

SlotPool::Scoped::Scoped(SlotPool* slots, std::string_view owner) : slots_(slots), owner_(owner) {
  while (slots_ != nullptr && !lease_) lease_ = slots_->Acquire(owner_, std::chrono::seconds(60));
}

SlotPool::Scoped::~Scoped() {
  if (slots_ != nullptr && lease_) slots_->Release(*lease_, owner_);
}

}  // namespace drover::fleet
