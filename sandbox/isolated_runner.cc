#include "sandbox/isolated_runner.h"

#include "sandbox/helper.h"

namespace drover::sandbox {
namespace {

class IsolatedProcessRunner final : public ProcessRunner {
 public:
  IsolatedProcessRunner(SandboxPolicy policy, std::filesystem::path drover_binary)
      : policy_(std::move(policy)),
        drover_binary_(std::move(drover_binary)),
        local_(MakeLocalProcessRunner()) {}

  Result<ProcessResult> Run(const ProcessSpec& spec) override {
    SandboxPolicy policy = policy_;
    if (policy.workspace.empty()) {
      std::error_code ec;
      policy.workspace = spec.cwd.empty() ? std::filesystem::current_path(ec)
                                          : std::filesystem::absolute(spec.cwd, ec);
      if (ec) return Fail(ErrorCode::kIo, "sandbox workspace: " + ec.message());
    }
    ProcessSpec wrapped = spec;
    wrapped.argv = {drover_binary_.string(), kSandboxHelperCommand, ToJson(policy).dump(), "--"};
    wrapped.argv.insert(wrapped.argv.end(), spec.argv.begin(), spec.argv.end());
    return local_->Run(wrapped);
  }

 private:
  const SandboxPolicy policy_;
  const std::filesystem::path drover_binary_;
  std::unique_ptr<ProcessRunner> local_;
};

}  // namespace

std::unique_ptr<ProcessRunner> MakeIsolatedProcessRunner(SandboxPolicy base_policy,
                                                         std::filesystem::path drover_binary) {
  return std::make_unique<IsolatedProcessRunner>(std::move(base_policy), std::move(drover_binary));
}

}  // namespace drover::sandbox
