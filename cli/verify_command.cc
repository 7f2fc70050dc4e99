// `drover verify --repo PATH [--dry-run] [--sandbox required|none] [--json]`: shows the
// verifiers drover would judge a repository by (detected, then its .drover.yml applied) and
// runs them there, isolated as in a run. They run in the repository itself, so build outputs
// (build/, target/, node_modules/.cache, ...) land in it; --dry-run only shows the detection.
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/json.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/probe.h"
#include "sandbox/process.h"
#include "sandbox/toolchains.h"
#include "spec/repo_config.h"
#include "verifiers/detect.h"
#include "verifiers/verifier.h"

namespace drover::cli {
namespace {

namespace fs = std::filesystem;

struct VerifyFlags {
  std::string repo = ".";
  bool dry_run = false;
  std::string sandbox = "required";  // Or "none": plain processes.
};

void PrintPlan(const fs::path& repo, const std::vector<verifiers::DetectedVerifier>& detected,
               const std::optional<fleet::RepoConfig>& config,
               const std::vector<verifiers::VerifierSpec>& merged) {
  std::printf("Detected in %s:\n", repo.c_str());
  if (detected.empty()) std::printf("  nothing (no known build files at the top level)\n");
  for (const auto& d : detected) {
    std::printf("  %-6s %-50s (%s)\n", d.spec.name.c_str(), d.spec.command.c_str(), d.why.c_str());
  }
  if (!config) {
    std::printf("%s: none\n", std::string(fleet::kRepoConfigFile).c_str());
  } else {
    std::printf("%s:", std::string(fleet::kRepoConfigFile).c_str());
    if (config->opt_out) {
      std::printf(" opts out of migrations%s%s;", config->reason.empty() ? "" : ": ",
                  config->reason.c_str());
    }
    for (const auto& v : config->verifiers) std::printf(" sets %s;", v.name.c_str());
    for (const auto& name : config->disable_verifiers) std::printf(" disables %s;", name.c_str());
    std::printf("\n");
  }
  std::printf("Verifiers:\n");
  if (merged.empty()) std::printf("  none\n");
  for (const auto& v : merged) {
    std::printf("  %s: %s (timeout %llds)\n", v.name.c_str(), v.command.c_str(),
                static_cast<long long>(v.timeout.count()));
  }
}

// Exit codes: kOk when every verifier passed (or --dry-run), kJobsFailed when any failed or
// there was none to run, kInvalidInput for a bad .drover.yml or a missing repository,
// kEnvironment when the sandbox does not work here.
int VerifyCommand(const fs::path& self, const VerifyFlags& flags, bool json,
                  const std::map<std::string, std::string>& env) {
  std::error_code ec;
  fs::path repo = fs::weakly_canonical(fs::absolute(flags.repo, ec), ec);
  if (ec || !fs::is_directory(repo, ec)) {
    std::fprintf(stderr, "drover verify: %s is not a directory\n", flags.repo.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto detected = verifiers::DetectVerifiers(repo);
  auto config = fleet::LoadRepoConfig(repo);
  if (!config) {
    std::fprintf(stderr, "drover verify: %s\n", config.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto merged = fleet::MergeVerifiers({}, detected, *config);

  Json out{{"repository", repo.string()}};
  out["detected"] = Json::array();
  for (const auto& d : detected) out["detected"].push_back(verifiers::ToJson(d));
  out["config"] = *config ? fleet::ToJson(**config) : Json(nullptr);
  out["verifiers"] = Json::array();
  for (const auto& v : merged) out["verifiers"].push_back(verifiers::ToJson(v));
  out["report"] = nullptr;
  if (!json) PrintPlan(repo, detected, *config, merged);

  if (flags.dry_run) {
    if (json) std::cout << out.dump(2) << std::endl;
    return ToInt(ExitCode::kOk);
  }
  if (merged.empty()) {
    std::fprintf(stderr, "drover verify: no verifiers to run: none detected and none in %s\n",
                 std::string(fleet::kRepoConfigFile).c_str());
    if (json) std::cout << out.dump(2) << std::endl;
    return ToInt(ExitCode::kJobsFailed);
  }

  std::unique_ptr<sandbox::ProcessRunner> runner;
  auto child_env = sandbox::BaseEnvironment(env);
  child_env["PYTHONDONTWRITEBYTECODE"] = "1";  // Keep build outputs out of the repository.
  std::string isolation = "none (--sandbox none)";
  if (flags.sandbox == "none") {
    runner = sandbox::MakeLocalProcessRunner();
  } else {
    std::string scratch = (fs::temp_directory_path() / "drover-verify-XXXXXX").string();
    if (::mkdtemp(scratch.data()) == nullptr) {
      std::fprintf(stderr, "drover verify: cannot create a temporary directory\n");
      return ToInt(ExitCode::kEnvironment);
    }
    auto probe = sandbox::ProbeSandbox(self, scratch);
    fs::remove_all(scratch, ec);
    if (probe.level.starts_with("none")) {
      std::fprintf(stderr,
                   "drover verify: the sandbox does not work on this machine (%s); pass "
                   "--sandbox none to run the verifiers as plain processes\n",
                   probe.error.c_str());
      return ToInt(ExitCode::kEnvironment);
    }
    isolation = probe.level;
    auto toolchains = sandbox::FindToolchains(env);
    sandbox::SandboxPolicy policy;
    policy.workspace = repo;
    policy.read_only_subpaths = {".git"};
    policy.read_only_paths = toolchains.read_only_paths;
    for (const auto& [name, value] : toolchains.env) child_env[name] = value;
    // As in a run: the sandbox's private /tmp, so nothing of the real home is read or written.
    child_env["HOME"] = "/tmp";
    child_env["CARGO_TARGET_DIR"] = "/tmp/drover-cargo-target";
    runner = sandbox::MakeIsolatedProcessRunner(policy, self);
  }
  out["isolation"] = isolation;
  if (!json) {
    std::fflush(stdout);  // The plan above comes first when both go to one terminal.
    std::fprintf(stderr, "drover verify: running %zu verifiers in %s (isolation: %s)\n",
                 merged.size(), repo.c_str(), isolation.c_str());
  }
  auto report = verifiers::RunVerifiers(*runner, merged, repo, child_env);
  if (json) {
    out["report"] = report.ToJson();
    std::cout << out.dump(2) << std::endl;
  } else {
    std::printf("\n%s", report.ForModel().c_str());
  }
  return ToInt(report.passed() ? ExitCode::kOk : ExitCode::kJobsFailed);
}

}  // namespace

CommandRun AddVerifyCommand(CLI::App& cmd, Invocation&) {
  auto flags = std::make_shared<VerifyFlags>();
  cmd.add_option("--repo", flags->repo, "The repository's working tree (default: .)");
  cmd.add_flag("--dry-run", flags->dry_run, "Only show what was detected and configured");
  cmd.add_option("--sandbox", flags->sandbox,
                 "required (default): run the verifiers isolated as in a run; none: plain "
                 "processes with your HOME")
      ->check(CLI::IsMember({"required", "none"}));
  return [flags](const Invocation& parsed) {
    (void)SetUpLogging(parsed.log_level, std::nullopt);
    return VerifyCommand(parsed.self, *flags, parsed.json, parsed.env);
  };
}

}  // namespace drover::cli
