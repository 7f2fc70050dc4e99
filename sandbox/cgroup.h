// Memory and process-count limits for one sandboxed command through cgroups: the v2 unified
// hierarchy when it offers the memory and pids controllers to us, else the v1 memory and pids
// hierarchies (hybrid machines). Thread-safe: a lease owns its directories alone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace drover::sandbox {

struct CgroupSupport {
  bool available = false;
  std::string mode;     // "v2" or "v1"; empty when unavailable.
  std::string why_not;  // Why limits cannot be applied, for the probe.
  // Where leases are made: one directory for v2, the memory and the pids ones for v1.
  std::vector<std::filesystem::path> parents;
};

// Looks once (the answer is cached for the process) for a hierarchy whose directory of this
// process accepts a new child with memory and pids limits: v2 when it offers both controllers
// and a child can get them, else v1 memory + pids when both are writable. Tries it by making
// and removing a child directory. v2's "no internal processes" rule means our own cgroup
// (which holds us) cannot hand controllers to a child unless it is the hierarchy's root; then
// leases are made beside it, in the parent, which must already delegate memory and pids.
const CgroupSupport& DetectCgroups();

// The cgroup directories of one command: created with limits, joined by the helper (the
// policy's `cgroups`), then emptied and removed by the destructor.
class CgroupLease {
 public:
  // A fresh child "drover-<pid>-<n>" per hierarchy with the given limits; 0 leaves a limit
  // unset. kNotFound when DetectCgroups() says none is usable; kIo when a directory cannot be
  // made or a limit not written (nothing is left behind then).
  static Result<std::unique_ptr<CgroupLease>> Create(uint64_t memory_bytes, uint64_t max_processes);
  ~CgroupLease();  // KillAll(), then removes the directories.
  CgroupLease(const CgroupLease&) = delete;
  CgroupLease& operator=(const CgroupLease&) = delete;

  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }
  // SIGKILLs every process left in the lease's cgroups and waits until they are empty.
  void KillAll();
  // True once the kernel's OOM killer acted inside the lease.
  bool OomKilled() const;
  // True once a fork was refused by the pids limit.
  bool PidsLimitHit() const;
  // The most processes the lease held at once (pids.peak), 0 when the kernel does not say.
  uint64_t PeakProcesses() const;

 private:
  CgroupLease() = default;
  std::vector<std::filesystem::path> dirs_;  // v2: one; v1: memory, then pids.
  std::string mode_;
};

// Moves the calling process into each directory (writes "0" to cgroup.procs). For the helper,
// before it unshares anything.
Status JoinCgroups(const std::vector<std::filesystem::path>& dirs);

}  // namespace drover::sandbox
