// `drover verify --repo PATH [--dry-run] [--sandbox required|none] [--json]`: shows the
// verifiers drover would judge a repository by (detected, then its .drover.yml applied) and
// runs them there, isolated as in a run. They run in the repository itself, so build outputs
// (build/, target/, node_modules/.cache, ...) land in it; --dry-run only shows the detection.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <string>

namespace drover::cli {

struct VerifyFlags {
  std::string repo = ".";
  bool dry_run = false;
  std::string sandbox = "required";  // Or "none": plain processes.
};

// Registers the subcommand and its options on `app`; `flags` must outlive parsing.
CLI::App* AddVerifyCommand(CLI::App& app, VerifyFlags& flags);

// Exit codes: kOk when every verifier passed (or --dry-run), kJobsFailed when any failed or
// there was none to run, kInvalidInput for a bad .drover.yml or a missing repository,
// kEnvironment when the sandbox does not work here.
int VerifyCommand(const std::filesystem::path& self, const VerifyFlags& flags, bool json,
                  const std::map<std::string, std::string>& env);

}  // namespace drover::cli
