// The `drover __sandbox` helper: builds the isolated view (namespaces, new root, limits,
// Landlock, seccomp) and execs the command. Changes process-global state, so it must run in a
// fresh single-threaded process, dispatched first thing in main; not for use elsewhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "sandbox/policy.h"

namespace drover::sandbox {

// The helper's argv word, as in `drover __sandbox POLICY -- CMD ARGS...`.
inline constexpr const char* kSandboxHelperCommand = "__sandbox";
// The same helper as its own small executable (`drover-sandbox POLICY -- CMD ARGS...`),
// installed beside drover.
inline constexpr const char* kSandboxHelperBinary = "drover-sandbox";

// The host uid and gid a sandbox runs as when the helper is started as root (inside it is
// 1000, as for any caller). Chosen to own nothing: above the ranges that distributions give
// users (1000-60000), systemd's dynamic and container users (61184-65519, 524288-1879048191)
// and the subordinate ids useradd hands out (100000-600165535), and below 2^31 for tools that
// read ids as signed. The probe refuses to run a root sandbox where an account, a group or a
// subuid/subgid range holds it. Files a root sandbox creates in its workspace are stored as
// root: the workspace is mounted with an idmapping (root on disk = this id in the sandbox).
inline constexpr uint32_t kSandboxHostId = 2000000000;

// Reads a policy given as inline JSON ("{..."), a file descriptor number, or a file path.
Result<SandboxPolicy> LoadPolicyArgument(const std::string& argument);

// Runs argv (looked up in the current PATH) under `policy` as pid 1 of new namespaces and
// waits for it. Returns its wait status (as from waitpid); an error when the sandbox could
// not be set up (kPermissionDenied/kIo, naming the failed step, e.g. a workspace on a
// filesystem that cannot be idmapped when started as root). The current working directory is
// kept when it is visible inside, else the workspace is used. Started as root, it gives up
// root for kSandboxHostId before it makes the namespaces.
Result<int> RunSandboxed(const SandboxPolicy& policy, const std::vector<std::string>& argv);

// The Landlock ABI version of this kernel, 0 when unavailable.
int LandlockAbi();

}  // namespace drover::sandbox
