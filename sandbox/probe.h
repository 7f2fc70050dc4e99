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
  bool cgroup_writable = false;  // Memory and process limits can be applied (cgroup.h).
  std::string cgroup;            // "v2 (<dir>)", "v1 (<memory dir>, <pids dir>)" or why not.
  // "full", "partial: no <layer>[, no cgroup (<why>)]" or "none: <why>".
  std::string level;
  std::string error;  // The helper's failure, when it failed.
};

// Runs `drover_binary __sandbox` with `true` in a temporary workspace under `scratch`.
ProbeResult ProbeSandbox(const std::filesystem::path& drover_binary,
                         const std::filesystem::path& scratch);

Json ToJson(const ProbeResult& probe);

}  // namespace drover::sandbox
