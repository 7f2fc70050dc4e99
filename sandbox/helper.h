// The `drover __sandbox` helper: builds the isolated view (namespaces, new root, limits,
// Landlock, seccomp) and execs the command. Changes process-global state, so it must run in a
// fresh single-threaded process, dispatched first thing in main; not for use elsewhere.
#pragma once

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

// Reads a policy given as inline JSON ("{..."), a file descriptor number, or a file path.
Result<SandboxPolicy> LoadPolicyArgument(const std::string& argument);

// Runs argv (looked up in the current PATH) under `policy` as pid 1 of new namespaces and
// waits for it. Returns its wait status (as from waitpid); an error when the sandbox could
// not be set up (kPermissionDenied/kIo, naming the failed step). The current working
// directory is kept when it is visible inside, else the workspace is used.
Result<int> RunSandboxed(const SandboxPolicy& policy, const std::vector<std::string>& argv);

// The Landlock ABI version of this kernel, 0 when unavailable.
int LandlockAbi();

}  // namespace drover::sandbox
