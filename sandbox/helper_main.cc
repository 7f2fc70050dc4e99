#include "sandbox/helper_main.h"

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "sandbox/helper.h"

namespace drover::sandbox {

int SandboxHelperMain(std::string_view name, int argc, char** argv) {
  const std::string prefix(name);
  if (argc < 4 || std::string(argv[2]) != "--") {
    std::fprintf(stderr, "usage: %s POLICY_JSON|FD|FILE -- CMD ARGS...\n", prefix.c_str());
    return kHelperUsageExit;
  }
  auto policy = LoadPolicyArgument(argv[1]);
  if (!policy) {
    std::fprintf(stderr, "%s: %s\n", prefix.c_str(), policy.error().message.c_str());
    return kHelperSetUpFailedExit;
  }
  auto status = RunSandboxed(*policy, std::vector<std::string>(argv + 3, argv + argc));
  if (!status) {
    std::fprintf(stderr, "%s: %s\n", prefix.c_str(), status.error().message.c_str());
    return kHelperSetUpFailedExit;
  }
  if (WIFSIGNALED(*status)) {
    std::signal(WTERMSIG(*status), SIG_DFL);
    std::raise(WTERMSIG(*status));
  }
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 1;
}

}  // namespace drover::sandbox
