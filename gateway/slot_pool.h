// A counting pool of slots with owned leases. A run has two: agent slots (agent processes at
// once: model-bound, can be many) and build slots (verifier and agent commands at once:
// CPU-bound). Leases carry an owner (a job) so that the runner can take back what an ended
// attempt still holds. Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace drover::fleet {

// How a SlotPool lease may be held. Defaults: no bound.
struct LeaseLimits {
  // An owner that already holds a lease is refused another at once.
  bool one_per_owner = false;
  // A lease held longer than this is taken back (its Release then returns false); 0: never.
  std::chrono::milliseconds max_hold{0};
};

class SlotPool {
 public:
  // REQUIRES: slots >= 1.
  explicit SlotPool(int slots);
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  // Waits up to `wait` for a free slot and leases it to `owner`; waiters are served in the
  // order they came (FIFO). Returns the lease id, or nullopt when the wait ran out, the
  // owner's leases were revoked meanwhile (RevokeOwner), or `limits.one_per_owner` and the
  // owner holds one.
  std::optional<int64_t> Acquire(std::string_view owner, std::chrono::milliseconds wait,
                                 LeaseLimits limits = {});
  // Leases `owner` holds now (expired ones taken back first).
  int HeldBy(std::string_view owner) const;
  // Returns `owner`'s lease; false when `owner` does not hold it (released or revoked before).
  bool Release(int64_t lease, std::string_view owner);
  // Takes back every lease `owner` holds and turns away its waiting Acquire calls. Returns
  // how many leases were taken back.
  int RevokeOwner(std::string_view owner);

  int capacity() const { return capacity_; }
  int in_use() const;

  // A lease held for a scope (in the runner): waits as long as it takes.
  class Scoped {
   public:
    Scoped(SlotPool* slots, std::string_view owner);  // `slots` may be null: no waiting.
    ~Scoped();
    Scoped(const Scoped&) = delete;
    Scoped& operator=(const Scoped&) = delete;

   private:
    SlotPool* slots_;
    std::string owner_;
    std::optional<int64_t> lease_;
  };

 private:
  const int capacity_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  struct Lease {
    std::string owner;
    std::optional<std::chrono::steady_clock::time_point> expires;
  };
  // Takes back leases past their max_hold. REQUIRES: mutex_ held.
  void ReclaimExpired() const;

  int64_t next_lease_ = 1;
  mutable std::map<int64_t, Lease> leases_;  // Lease id → holder; expired ones go lazily.
  uint64_t next_ticket_ = 0;
  std::deque<uint64_t> waiting_;  // Tickets of waiting Acquire calls, first come first.
  // Bumped by RevokeOwner: a waiter that sees its owner's epoch change gives up.
  std::map<std::string, uint64_t, std::less<>> epochs_;
};

}  // namespace drover::fleet
