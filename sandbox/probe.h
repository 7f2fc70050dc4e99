// Which isolation layers work on this machine, found by trying them (a sandboxed `true` and
// a Landlock ABI query). Thread-safe: starts processes, keeps no state.
#pragma once

#include <filesystem>
#include <string>

#include "core/json.h"

namespace drover::sandbox {

struct ProbeResult {
  bool user_ns = false;
  bool mount_ns = false;
  bool pid_ns = false;
  bool net_ns = false;
  bool landlock = false;
  int landlock_abi = 0;
  bool seccomp = false;
  bool cgroup_writable = false;  // Our own cgroup v2 directory accepts writes.
  std::string level;             // "full", "partial: <missing layers>" or "none: <why>".
  std::string error;             // The helper's failure, when it failed.
};

// Runs `drover_binary __sandbox` with `true` in a temporary workspace under `scratch`.
ProbeResult ProbeSandbox(const std::filesystem::path& drover_binary,
                         const std::filesystem::path& scratch);

Json ToJson(const ProbeResult& probe);

}  // namespace drover::sandbox
