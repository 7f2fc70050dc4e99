// What an isolated command may see and do: plain data with a JSON round trip, passed from the
// runner to the `drover __sandbox` helper. Thread-safe: value types and pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"

namespace drover::sandbox {

struct SandboxPolicy {
  // The only writable tree besides a private /tmp; visible at the same absolute path.
  // REQUIRES: absolute when the policy is used.
  std::filesystem::path workspace;
  // Extra read-only binds at the same path, e.g. toolchain directories under /root or /home.
  std::vector<std::filesystem::path> read_only_paths;
  // Relative paths inside the workspace kept read-only, e.g. ".git". Missing ones are skipped;
  // REQUIRES: no "..", not absolute.
  std::vector<std::string> read_only_subpaths;
  // Further writable directories at the same path (the agent's attempt directory).
  std::vector<std::filesystem::path> writable_paths;
  // Unix sockets exposed at the same path (the gateway socket); nothing else of /run is.
  std::vector<std::filesystem::path> sockets;
  // Shown as an empty read-only file or directory instead of what they hold: secret-bearing
  // host files and credential files inside read-only binds (secrets.h). The isolated runner
  // adds HiddenPaths of read_only_paths to whatever is listed; missing ones are skipped.
  std::vector<std::filesystem::path> hidden_paths;
  // The network namespace is always empty but for loopback. Egress, when wanted, goes through
  // the runner's allow-listing proxy (egress_proxy.h) listening on this Unix socket: a relay
  // inside listens on 127.0.0.1:proxy_port and HTTP_PROXY/HTTPS_PROXY point to it.
  std::filesystem::path proxy_socket;
  uint16_t proxy_port = 3128;
  // cgroup directories the helper joins before anything else (one per hierarchy: the v2
  // directory, or the v1 memory and pids ones). Made, limited and removed by the caller.
  std::vector<std::filesystem::path> cgroups;
  // cgroup limits the isolated runner applies when a writable cgroup exists (probe.h says).
  uint64_t memory_bytes = 8ULL << 30;
  uint64_t max_processes = 2048;
  // Size of the private /tmp (tmpfs); its pages count against the memory limit too.
  uint64_t tmp_bytes = 2ULL << 30;
  // The workspace and the writable paths together may grow by at most this many bytes on the
  // host's disk (a watchdog in the helper kills the command past it); 0: unlimited.
  uint64_t disk_bytes = 0;
  // A file outside the sandbox, made by the caller, where the helper writes "disk_limit" when
  // it stopped the command at disk_bytes: a word the command itself cannot fake. Empty: none.
  std::filesystem::path status_file;
  // rlimits; 0 means "not limited by the policy". Defaults: 1h of CPU, 8 GiB files, 4096 fds.
  uint64_t cpu_seconds = 3600;
  uint64_t file_size_bytes = 8ULL << 30;
  uint64_t open_files = 4096;
  // Off by default: RLIMIT_AS breaks JVMs, Go and sanitizers (huge virtual reservations).
  uint64_t address_space_bytes = 0;
};

Json ToJson(const SandboxPolicy& policy);
// kParse on a wrong shape, kInvalidArgument on a relative workspace or a subpath with "..".
Result<SandboxPolicy> SandboxPolicyFromJson(const Json& json);

}  // namespace drover::sandbox
