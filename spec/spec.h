// The migration spec: a Markdown file whose YAML front matter configures the run and whose
// body is the agent's instructions. Parsing is strict (unknown fields are errors).
// Thread-safe: free functions over value types.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/task.h"
#include "core/error.h"
#include "verifiers/diff_policy.h"
#include "verifiers/verifier.h"

namespace drover::fleet {

struct PrTemplate {
  std::string title;                // Default: the spec's title.
  std::string branch;               // Default: "drover/" + id.
  std::vector<std::string> labels;  // Default: none.
  bool draft = false;
};

struct GitAuthor {
  std::string name = "drover";
  std::string email = "drover@localhost";
};

// What the final diff may touch, delete and skip, and which patterns it must remove or add
// (verifiers/diff_policy.h). Key `policy`; every field optional.
using DiffPolicy = verifiers::DiffRules;

// How each agent and verifier of the migration is isolated (sandbox/policy.h).
struct SandboxSettings {
  // Hosts the builds may reach through the egress proxy ("pypi.org", "*.pythonhosted.org").
  // Empty: no network at all.
  std::vector<std::string> allow_hosts;
  // Hosts the dependency set-up (key `setup`) may reach, e.g. a mirror; empty: the registries
  // of the ecosystems the set-up was detected for (verifiers/detect.h). Only the set-up gets
  // them; the agent and the checks keep allow_hosts.
  std::vector<std::string> setup_hosts;
  // Further read-only directories (toolchains the PATH does not reveal).
  std::vector<std::filesystem::path> read_only_paths;
  int64_t memory_mb = 8192;     // cgroup memory limit per sandbox.
  int64_t max_processes = 2048;  // cgroup pids limit per sandbox.
  int64_t disk_mb = 10240;      // How much the writable host paths may grow per sandbox.
};

// Key `judge`: `true`, or `{enabled: true}`. Off by default.
struct JudgeSettings {
  bool enabled = false;
};

// Key `rollout: {canary: N, min_success: R}`: the first N targets (in the targets' order) run
// first; the rest start only when published / finished (skipped and not applicable left out)
// among them is at least R, else the run pauses. Absent: one wave.
struct RolloutSettings {
  int64_t canary = 0;        // Targets in the canary wave; 0: no canary.
  double min_success = 0.0;  // In [0, 1]; default 0 (any outcome continues).
};

enum class ForgeKind { kLocal, kGitHub, kGitLab };
std::string_view ForgeKindName(ForgeKind kind);  // "local", "github", "gitlab"
// kInvalidArgument naming the accepted kinds.
Result<ForgeKind> ParseForgeKind(std::string_view name);

// Key `forge`: where verified changes are published. The token is read from the runner's
// environment by name when the run starts; it is never part of the spec or the run directory.
struct ForgeSettings {
  ForgeKind kind = ForgeKind::kLocal;  // Default: local (PR files in the job's directory).
  // API root: https://ghe.example.com/api/v3, https://gitlab.example.com/api/v4. Empty
  // (default): the public host's (api.github.com, gitlab.com/api/v4).
  std::string base_url;
  // Environment variable holding the token. Default: GITHUB_TOKEN or GITLAB_TOKEN by kind.
  std::string token_env;
  // Key `push_to`: "upstream" (default) pushes the head branch to the target; "fork" pushes it
  // to a fork of the target (made when missing) and opens the PR/MR from there.
  bool push_to_fork = false;
  // Key `fork_owner`: the user, organisation or GitLab namespace owning the fork. Empty: the
  // token's user. Only with push_to: fork.
  std::string fork_owner;
};

enum class OnRedBaseline {
  kSkip,           // A target whose verifiers fail before the agent runs is skipped.
  kNoNewFailures,  // Work on it anyway; the final check may not fail more than the baseline.
};

struct MigrationSpec {
  std::string id;                                  // Required, [a-z0-9][a-z0-9._-]*.
  std::string title;                               // Required.
  std::string instructions;                        // The Markdown body; never empty.
  // Names unique. Empty (key absent or `auto`): detected per repository (verifiers/detect.h).
  std::vector<verifiers::VerifierSpec> verifiers;
  // Key `setup`: commands that install the repository's dependencies before its checks run.
  // nullopt (absent or `auto`): detected per repository (verifiers/detect.h); empty: none.
  std::optional<std::vector<std::string>> setup;
  agent::AgentLimits limits;                       // Key `limits`; every field optional.
  int max_attempts = 2;  // Key `limits.max_attempts`: agent attempts per target.
  OnRedBaseline on_red_baseline = OnRedBaseline::kSkip;  // Key `baseline.on_red`.
  DiffPolicy policy;                                     // Key `policy`.
  PrTemplate pr;                                         // Key `pr`.
  GitAuthor author;                                      // Key `author`.
  SandboxSettings sandbox;                               // Key `sandbox`.
  JudgeSettings judge;                                   // Key `judge`.
  RolloutSettings rollout;                               // Key `rollout`.
  ForgeSettings forge;                                   // Key `forge`.
  std::filesystem::path file;  // Where the spec was read from (empty when parsed from text).
};

// Reads and parses `file`. Errors: those of ReadFile (kNotFound, kIo), or kInvalidArgument
// as ParseMigrationSpec, naming the path.
Result<MigrationSpec> LoadMigrationSpec(const std::filesystem::path& file);

// Parses a spec's text. Every error is kInvalidArgument with a message of the form
// `<file_name>:<line>: <field.path>: <what is wrong>`, `line` being 1-based in the file.
Result<MigrationSpec> ParseMigrationSpec(std::string_view text, std::string_view file_name);

}  // namespace drover::fleet
