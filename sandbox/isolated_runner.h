// A ProcessRunner that runs each command in a fresh sandbox (`drover-sandbox`, or
// `drover __sandbox` where that is missing), started
// through the local runner, which keeps the timeout and group kill. Thread-safe.
#pragma once

#include <filesystem>
#include <memory>

#include "sandbox/policy.h"
#include "sandbox/process.h"

namespace drover::sandbox {

// Each Run uses `base_policy` with spec.cwd as the workspace unless the policy names one, and
// spec.env as the command's complete environment. `drover_binary` is the drover executable;
// the helper is `drover-sandbox` in the same directory if present, else `drover __sandbox`.
// When a cgroup is usable (DetectCgroups) and the policy names no `cgroups` of its own, each
// Run gets fresh ones limited to memory_bytes and max_processes, removed afterwards; a command
// stopped by either limit has a "[drover sandbox: ...]" line appended to its output. A
// command stopped at the policy's disk limit has ProcessResult::disk_limit_bytes set. Every
// Run hides HiddenPaths(read_only_paths) (secrets.h) besides the policy's own hidden_paths;
// the scan happens here, once per process and path.
std::unique_ptr<ProcessRunner> MakeIsolatedProcessRunner(SandboxPolicy base_policy,
                                                         std::filesystem::path drover_binary);

}  // namespace drover::sandbox
