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
  // Unix sockets exposed at the same path (the gateway socket); nothing else of /run is.
  std::vector<std::filesystem::path> sockets;
  // false: an empty network namespace with only loopback up.
  bool network = false;
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
