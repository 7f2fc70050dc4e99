#include "sandbox/isolated_runner.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>

#include "core/fs.h"
#include "sandbox/cgroup.h"
#include "sandbox/helper.h"
#include "sandbox/secrets.h"

namespace drover::sandbox {
namespace {

// `drover-sandbox` beside the drover binary when it is there: the same helper without the
// dozens of shared libraries drover loads, which would otherwise cost every command ~10 ms.
std::vector<std::string> HelperCommand(const std::filesystem::path& drover_binary) {
  auto slim = drover_binary.parent_path() / kSandboxHelperBinary;
  if (access(slim.c_str(), X_OK) == 0) return {slim.string()};
  return {drover_binary.string(), kSandboxHelperCommand};
}

// The policy with what it must hide added: the host's secrets and the credential files in
// its read-only paths (scanned once per process, secrets.h).
SandboxPolicy WithHiddenPaths(SandboxPolicy policy) {
  auto hidden = HiddenPaths(policy.read_only_paths);
  policy.hidden_paths.insert(policy.hidden_paths.end(), hidden.begin(), hidden.end());
  std::sort(policy.hidden_paths.begin(), policy.hidden_paths.end());
  policy.hidden_paths.erase(std::unique(policy.hidden_paths.begin(), policy.hidden_paths.end()),
                            policy.hidden_paths.end());
  return policy;
}

class IsolatedProcessRunner final : public ProcessRunner {
 public:
  IsolatedProcessRunner(SandboxPolicy policy, const std::filesystem::path& drover_binary)
      : policy_(WithHiddenPaths(std::move(policy))),
        helper_(HelperCommand(drover_binary)),
        local_(MakeLocalProcessRunner()) {}

  Result<ProcessResult> Run(const ProcessSpec& spec) override {
    SandboxPolicy policy = policy_;
    if (policy.workspace.empty()) {
      std::error_code ec;
      policy.workspace = spec.cwd.empty() ? std::filesystem::current_path(ec)
                                          : std::filesystem::absolute(spec.cwd, ec);
      if (ec) return Fail(ErrorCode::kIo, "sandbox workspace: " + ec.message());
    }
    // Without a usable cgroup the command runs unlimited; the probe reports why.
    std::unique_ptr<CgroupLease> lease;
    if (policy.cgroups.empty() && (policy.memory_bytes != 0 || policy.max_processes != 0) &&
        DetectCgroups().available) {
      auto created = CgroupLease::Create(policy.memory_bytes, policy.max_processes);
      if (created) {
        lease = std::move(*created);
        policy.cgroups = lease->dirs();
      } else {
        spdlog::warn("sandbox: running without memory/process limits: {}", created.error().message);
      }
    }
    // Where the helper says that it stopped the command at the disk limit: outside the
    // sandbox, so that the command cannot claim it (or hide it).
    std::filesystem::path status_file;
    if (policy.disk_bytes != 0) {
      std::string name = (std::filesystem::temp_directory_path() / "drover-sandbox-XXXXXX");
      int fd = ::mkstemp(name.data());
      if (fd < 0) return Fail(ErrorCode::kIo, "sandbox status file: " + name);
      ::close(fd);
      status_file = policy.status_file = name;
    }
    ProcessSpec wrapped = spec;
    wrapped.argv = helper_;
    wrapped.argv.push_back(ToJson(policy).dump());
    wrapped.argv.push_back("--");
    wrapped.argv.insert(wrapped.argv.end(), spec.argv.begin(), spec.argv.end());
    auto result = local_->Run(wrapped);
    if (!status_file.empty()) {
      auto status = ReadFile(status_file);
      std::error_code ec;
      std::filesystem::remove(status_file, ec);
      if (result && status && status->find("disk_limit") != std::string::npos) {
        result->disk_limit_bytes = policy.disk_bytes;
      }
    }
    if (result && lease) {
      // The command only sees a SIGKILL or a failed fork; say which limit did it.
      if (lease->OomKilled()) {
        result->output += "\n[drover sandbox: killed by the memory limit (" +
                          std::to_string(policy.memory_bytes >> 20) + " MiB)]";
      }
      if (lease->PidsLimitHit()) {
        result->output += "\n[drover sandbox: the process limit (" +
                          std::to_string(policy.max_processes) + ") refused a fork]";
      }
    }
    return result;  // The lease's destructor kills what is left and removes the cgroups.
  }

 private:
  const SandboxPolicy policy_;
  const std::vector<std::string> helper_;
  std::unique_ptr<ProcessRunner> local_;
};

}  // namespace

std::unique_ptr<ProcessRunner> MakeIsolatedProcessRunner(SandboxPolicy base_policy,
                                                         std::filesystem::path drover_binary) {
  return std::make_unique<IsolatedProcessRunner>(std::move(base_policy), std::move(drover_binary));
}

}  // namespace drover::sandbox
