// A ProcessRunner that runs each command in a fresh sandbox (`drover __sandbox`), started
// through the local runner, which keeps the timeout and group kill. Thread-safe.
#pragma once

#include <filesystem>
#include <memory>

#include "sandbox/policy.h"
#include "sandbox/process.h"

namespace drover::sandbox {

// Each Run uses `base_policy` with spec.cwd as the workspace unless the policy names one, and
// spec.env as the command's complete environment. `drover_binary` is the helper's executable.
std::unique_ptr<ProcessRunner> MakeIsolatedProcessRunner(SandboxPolicy base_policy,
                                                         std::filesystem::path drover_binary);

}  // namespace drover::sandbox
