#include "sandbox/probe.h"

#include <unistd.h>

#include <charconv>

#include "core/fs.h"
#include "sandbox/cgroup.h"
#include "sandbox/helper.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/secrets.h"

namespace drover::sandbox {
namespace {

bool ParseId(std::string_view text, uint64_t& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// The `index`th ':'-separated field of `line`.
std::string_view Field(std::string_view line, int index) {
  for (int i = 0; i < index; ++i) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return {};
    line.remove_prefix(colon + 1);
  }
  return line.substr(0, line.find(':'));
}

// Calls `visit` with each non-empty line that is not a comment.
template <typename Visit>
void ForEachLine(std::string_view text, Visit visit) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.front() != '#') visit(line);
  }
}

}  // namespace

std::string SandboxIdHolder(uint32_t id, std::string_view passwd, std::string_view group,
                            std::string_view subuid, std::string_view subgid) {
  std::string holder;
  auto accounts = [&](std::string_view file, std::string_view text, const char* what) {
    ForEachLine(text, [&](std::string_view line) {
      uint64_t value = 0;
      if (holder.empty() && ParseId(Field(line, 2), value) && value == id) {
        holder = std::string(file) + ": " + what + " " + std::string(Field(line, 0));
      }
    });
  };
  auto ranges = [&](std::string_view file, std::string_view text) {
    ForEachLine(text, [&](std::string_view line) {
      uint64_t start = 0;
      uint64_t count = 0;
      if (holder.empty() && ParseId(Field(line, 1), start) && ParseId(Field(line, 2), count) &&
          id >= start && id < start + count) {
        holder = std::string(file) + ": " + std::string(Field(line, 0)) + "'s range " +
                 std::to_string(start) + "-" + std::to_string(start + count - 1);
      }
    });
  };
  accounts("/etc/passwd", passwd, "user");
  accounts("/etc/group", group, "group");
  ranges("/etc/subuid", subuid);
  ranges("/etc/subgid", subgid);
  return holder;
}

ProbeResult ProbeSandbox(const std::filesystem::path& drover_binary,
                         const std::filesystem::path& scratch,
                         const std::vector<std::filesystem::path>& writable) {
  ProbeResult probe;
  auto refuse = [&](std::string why) {
    probe.error = std::move(why);
    probe.level = "none: " + probe.error;
    return probe;
  };
  if (auto checked = CheckHiddenPathRules(); !checked) return refuse(checked.error().message);
  if (geteuid() == 0) {
    auto text = [](const char* path) { return ReadFile(path).value_or(""); };
    std::string holder = SandboxIdHolder(kSandboxHostId, text("/etc/passwd"), text("/etc/group"),
                                         text("/etc/subuid"), text("/etc/subgid"));
    if (!holder.empty()) {
      return refuse("the sandbox's host id " + std::to_string(kSandboxHostId) +
                    ", which must own nothing, is taken (" + holder + ")");
    }
  }
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
  policy.writable_paths = writable;
  auto runner = MakeIsolatedProcessRunner(policy, drover_binary);
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.cwd = scratch;
  spec.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  spec.timeout = std::chrono::seconds(10);
  auto result = runner->Run(spec);
  if (!result || !result->ok()) {
    return refuse(result ? result->Describe() + ": " + result->output : result.error().message);
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
