#include "sandbox/probe.h"

#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/helper.h"
#include "sandbox/isolated_runner.h"

namespace drover::sandbox {

ProbeResult ProbeSandbox(const std::filesystem::path& drover_binary,
                         const std::filesystem::path& scratch) {
  ProbeResult probe;
  probe.landlock_abi = LandlockAbi();
  probe.landlock = probe.landlock_abi > 0;
  const CgroupSupport& cgroups = DetectCgroups();
  probe.cgroup_writable = cgroups.available;
  if (cgroups.available) {
    std::string dirs;
    for (const auto& dir : cgroups.parents) dirs += (dirs.empty() ? "" : ", ") + dir.string();
    probe.cgroup = cgroups.mode + " (" + dirs + ")";
  } else {
    probe.cgroup = cgroups.why_not;
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
  // The helper fails unless every namespace and the seccomp filter were applied, and the run
  // above joined the limited cgroups when they are available.
  probe.user_ns = probe.mount_ns = probe.pid_ns = probe.net_ns = probe.seccomp = true;
  std::string missing;
  if (!probe.landlock) missing += "no landlock";
  if (!probe.cgroup_writable) {
    missing += (missing.empty() ? "" : ", ") + std::string("no cgroup (") + probe.cgroup + ")";
  }
  probe.level = missing.empty() ? "full" : "partial: " + missing;
  return probe;
}

Json ToJson(const ProbeResult& probe) {
  return Json{{"user_ns", probe.user_ns},   {"mount_ns", probe.mount_ns},
              {"pid_ns", probe.pid_ns},     {"net_ns", probe.net_ns},
              {"landlock", probe.landlock}, {"landlock_abi", probe.landlock_abi},
              {"seccomp", probe.seccomp},   {"cgroup_writable", probe.cgroup_writable},
              {"cgroup", probe.cgroup},     {"level", probe.level},
              {"error", probe.error}};
}

}  // namespace drover::sandbox
