// Which isolation layers work on this machine, found by trying them (a sandboxed `true` and
// a Landlock ABI query). Thread-safe: starts processes, keeps no state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

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

// Runs `drover_binary __sandbox` with `true` in the workspace `scratch`, with each of
// `writable` (existing directories, e.g. one on the filesystem where workspaces and attempt
// directories will live) as a writable path: started as root, the sandbox idmaps them, and a
// filesystem that cannot be idmapped fails the probe ("none: ..."), never a later job. As
// root it also refuses when kSandboxHostId belongs to an account, a group or a subordinate id
// range on this host, and it checks the hidden path rules' examples.
ProbeResult ProbeSandbox(const std::filesystem::path& drover_binary,
                         const std::filesystem::path& scratch,
                         const std::vector<std::filesystem::path>& writable = {});

// Who holds `id` according to the texts of /etc/passwd, /etc/group, /etc/subuid and
// /etc/subgid: e.g. "/etc/subuid: alice's range 1999990000-2000055535", or empty when none.
std::string SandboxIdHolder(uint32_t id, std::string_view passwd, std::string_view group,
                            std::string_view subuid, std::string_view subgid);

Json ToJson(const ProbeResult& probe);

}  // namespace drover::sandbox
