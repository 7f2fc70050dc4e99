// Time for code that must be testable without waiting: wall time (what is stored and shown),
// a monotonic time (durations, deadlines) and sleeping, behind one interface.
// Thread-safe: both implementations may be called from any thread.
#pragma once

#include <chrono>
#include <mutex>

namespace drover {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time: timestamps written to the state store, files and reports.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time: durations and deadlines, unaffected by the wall clock being set.
  virtual std::chrono::steady_clock::time_point MonotonicNow() const = 0;
  virtual void SleepFor(std::chrono::milliseconds duration) = 0;
};

// The system's clocks; sleeping blocks the calling thread. One instance for the process.
Clock& SystemClock();

// A clock that moves only when told: Advance, or SleepFor (which advances both times at once
// and returns immediately). Starts at the given wall time, monotonic time at an arbitrary epoch.
class ManualClock : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point start =
                           std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000)))
      : wall_(start) {}
  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point MonotonicNow() const override;
  void SleepFor(std::chrono::milliseconds duration) override { Advance(duration); }
  void Advance(std::chrono::milliseconds duration);

 private:
  mutable std::mutex mutex_;
  std::chrono::system_clock::time_point wall_;         // Guarded by mutex_.
  std::chrono::steady_clock::time_point monotonic_{};  // Guarded by mutex_.
};

}  // namespace drover
