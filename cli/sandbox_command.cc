#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "sandbox/egress_proxy.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/probe.h"
#include "sandbox/process.h"
#include "sandbox/toolchains.h"

namespace drover::cli {
namespace {

struct SandboxFlags {
  bool probe = false;
  std::string writable;
  std::vector<std::string> allow_hosts;
  int timeout_seconds = 600;
  std::vector<std::string> command;
};

// `drover sandbox --probe` and
// `drover sandbox [--writable DIR] [--allow-host HOST] [--timeout S] -- CMD ARGS...`: the
// policy a job's commands get (toolchains from PATH, limits), for trying it by hand.
int SandboxCommand(const std::filesystem::path& self, const SandboxFlags& flags, bool json,
                   const std::map<std::string, std::string>& env) {
  bool probe = flags.probe;
  const auto& command = flags.command;
  if (probe) {
    auto scratch =
        std::filesystem::temp_directory_path() / ("drover-probe-" + std::to_string(getpid()));
    std::error_code ec;
    std::filesystem::create_directories(scratch, ec);
    auto result = sandbox::ProbeSandbox(self, scratch);
    std::filesystem::remove_all(scratch, ec);
    if (json) {
      std::cout << sandbox::ToJson(result).dump(2) << std::endl;
    } else {
      std::printf(
          "user_ns %d, mount_ns %d, pid_ns %d, net_ns %d, seccomp %d, landlock %d (ABI %d), "
          "cgroup limits %d\ncgroup: %s\nlevel: %s\n",
          result.user_ns, result.mount_ns, result.pid_ns, result.net_ns, result.seccomp,
          result.landlock, result.landlock_abi, result.cgroup_writable, result.cgroup.c_str(),
          result.level.c_str());
    }
    return ToInt(result.level.starts_with("none") ? ExitCode::kEnvironment : ExitCode::kOk);
  }
  if (command.empty()) {
    std::fprintf(stderr, "drover sandbox: give --probe or -- CMD ARGS...\n");
    return ToInt(ExitCode::kUsage);
  }
  sandbox::SandboxPolicy policy;
  std::error_code ec;
  policy.workspace = std::filesystem::absolute(flags.writable.empty() ? "." : flags.writable, ec);
  if (std::filesystem::exists(policy.workspace / ".git", ec)) policy.read_only_subpaths = {".git"};
  auto toolchains = sandbox::FindToolchains(env);
  policy.read_only_paths = toolchains.read_only_paths;
  std::unique_ptr<sandbox::EgressProxy> proxy;
  std::filesystem::path proxy_dir;
  if (!flags.allow_hosts.empty()) {
    std::string dir_template = (std::filesystem::temp_directory_path() / "drover-egress-XXXXXX");
    if (::mkdtemp(dir_template.data()) == nullptr) {
      std::fprintf(stderr, "drover sandbox: cannot create a directory for the proxy socket\n");
      return ToInt(ExitCode::kEnvironment);
    }
    proxy_dir = dir_template;
    sandbox::EgressProxyOptions options;
    options.socket_path = proxy_dir / "egress.sock";
    options.allowed_hosts = flags.allow_hosts;
    options.log = [](const std::string& line) {
      std::fprintf(stderr, "drover sandbox: egress %s\n", line.c_str());
    };
    auto started = sandbox::EgressProxy::Start(options);
    if (!started) {
      std::filesystem::remove_all(proxy_dir, ec);
      std::fprintf(stderr, "drover sandbox: --allow-host: %s\n", started.error().message.c_str());
      return ToInt(ExitCode::kUsage);
    }
    proxy = std::move(*started);
    policy.proxy_socket = proxy->socket_path();
  }
  auto runner = sandbox::MakeIsolatedProcessRunner(policy, self);
  sandbox::ProcessSpec spec;
  spec.argv = command;
  spec.cwd = policy.workspace;
  spec.env = sandbox::BaseEnvironment(env);
  for (const auto& [name, value] : toolchains.env) spec.env[name] = value;
  spec.timeout = std::chrono::seconds(flags.timeout_seconds);
  auto result = runner->Run(spec);
  proxy.reset();
  if (!proxy_dir.empty()) std::filesystem::remove_all(proxy_dir, ec);
  if (!result) {
    std::fprintf(stderr, "drover sandbox: %s\n", result.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  std::fwrite(result->output.data(), 1, result->output.size(), stdout);
  if (!result->ok()) std::fprintf(stderr, "drover sandbox: %s\n", result->Describe().c_str());
  return result->timed_out || result->term_signal != 0 ? 124 : result->exit_code;
}

}  // namespace

CommandRun AddSandboxCommand(CLI::App& cmd, Invocation& invocation) {
  auto flags = std::make_shared<SandboxFlags>();
  cmd.add_flag("--probe", flags->probe, "Print which isolation layers work on this machine");
  cmd.add_flag("--json", invocation.json, "Machine-readable output on stdout");
  cmd.add_option("--writable", flags->writable, "The writable workspace (default: .)");
  cmd.add_option("--allow-host", flags->allow_hosts,
                 "A host name the command may reach through the egress proxy "
                 "(repeatable; \"*.example.org\" for its subdomains)")
      ->allow_extra_args(false);
  cmd.add_option("--timeout", flags->timeout_seconds, "Seconds before the command is killed")
      ->check(CLI::Range(1, 86400));
  cmd.add_option("command", flags->command, "-- CMD ARGS...");
  return [flags](const Invocation& parsed) {
    return SandboxCommand(parsed.self, *flags, parsed.json, parsed.env);
  };
}

}  // namespace drover::cli
