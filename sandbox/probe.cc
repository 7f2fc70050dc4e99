#include "sandbox/probe.h"

#include <unistd.h>

#include "core/fs.h"
#include "sandbox/helper.h"
#include "sandbox/isolated_runner.h"

namespace drover::sandbox {

ProbeResult ProbeSandbox(const std::filesystem::path& drover_binary,
                         const std::filesystem::path& scratch) {
  ProbeResult probe;
  probe.landlock_abi = LandlockAbi();
  probe.landlock = probe.landlock_abi > 0;
  if (auto cgroup = ReadFile("/proc/self/cgroup"); cgroup && cgroup->starts_with("0::")) {
    std::string relative = cgroup->substr(3);
    while (!relative.empty() && relative.back() == '\n') relative.pop_back();
    auto dir =
        std::filesystem::path("/sys/fs/cgroup") / std::filesystem::path(relative).relative_path();
    probe.cgroup_writable = access((dir / "cgroup.procs").c_str(), W_OK) == 0;
  }
  SandboxPolicy policy;
  policy.workspace = scratch;
  auto runner = MakeIsolatedProcessRunner(policy, drover_binary);
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.cwd = scratch;
  spec.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  spec.timeout = std::chrono::seconds(10);
  auto result = runner->Run(spec);
  if (!result || !result->ok()) {
    probe.error = result ? result->Describe() + ": " + result->output : result.error().message;
    probe.level = "none: " + probe.error;
    return probe;
  }
  // The helper fails unless every namespace and the seccomp filter were applied.
  probe.user_ns = probe.mount_ns = probe.pid_ns = probe.net_ns = probe.seccomp = true;
  std::string missing;
  if (!probe.landlock) missing += "landlock ";
  if (!probe.cgroup_writable) missing += "cgroup ";
  if (!missing.empty()) missing.pop_back();
  // cgroup limits are not applied yet, so their absence does not lower the level.
  probe.level = probe.landlock ? "full" : "partial: no " + missing;
  return probe;
}

Json ToJson(const ProbeResult& probe) {
  return Json{{"user_ns", probe.user_ns},   {"mount_ns", probe.mount_ns},
              {"pid_ns", probe.pid_ns},     {"net_ns", probe.net_ns},
              {"landlock", probe.landlock}, {"landlock_abi", probe.landlock_abi},
              {"seccomp", probe.seccomp},   {"cgroup_writable", probe.cgroup_writable},
              {"level", probe.level},       {"error", probe.error}};
}

}  // namespace drover::sandbox
