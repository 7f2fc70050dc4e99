// A target repository's own say in a migration: `.drover.yml` at its root (opt out, its own
// verifiers, verifiers to leave out), and how that combines with the spec and detection.
// Parsing is strict like the spec's. Thread-safe: free functions over value types.
//
//   opt_out: true                 # drover does not work on this repository
//   reason: vendored; do not touch
//   verifiers:                    # replace same-named ones, or add
//     - name: test
//       command: ./ci/test.sh
//       timeout: 900
//   disable_verifiers: [lint]
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "verifiers/detect.h"
#include "verifiers/verifier.h"

namespace drover::fleet {

inline constexpr std::string_view kRepoConfigFile = ".drover.yml";

struct RepoConfig {
  bool opt_out = false;  // Key `opt_out`; default false.
  std::string reason;    // Key `reason`: why it opts out; only with `opt_out: true`.
  // Key `verifiers`: {name, command, timeout (seconds, default 600)}, names unique.
  std::vector<verifiers::VerifierSpec> verifiers;
  std::vector<std::string> disable_verifiers;  // Key `disable_verifiers`: names.
};

// Parses `.drover.yml` text. An empty document is a config with every default. Every error is
// kInvalidArgument of the form `<file_name>:<line>: <field.path>: <what is wrong>`.
Result<RepoConfig> ParseRepoConfig(std::string_view text,
                                   std::string_view file_name = kRepoConfigFile);

// Reads `<repo_root>/.drover.yml`: nullopt when there is none. A symlink, FIFO or a file over
// 64 KiB is refused (kPermissionDenied / kIo), since the repository is not trusted; parse
// errors as ParseRepoConfig. The runner must read it from the tree as it was before the agent
// ran: an agent that edits it must not change how its own work is judged.
Result<std::optional<RepoConfig>> LoadRepoConfig(const std::filesystem::path& repo_root);

// The verifiers a repository is judged by:
//   1. the spec's verifiers when it lists any (the migration author's word), else the detected
//      ones (DetectVerifiers);
//   2. then each of `config`'s verifiers replaces the one of the same name in place, or is
//      appended in its own order;
//   3. then every verifier named in `config`'s disable_verifiers is removed. A name that matches
//      nothing is ignored: one .drover.yml serves migrations with different verifiers.
// `config.opt_out` is not looked at here; the caller skips the repository.
std::vector<verifiers::VerifierSpec> MergeVerifiers(
    const std::vector<verifiers::VerifierSpec>& spec_verifiers,
    const std::vector<verifiers::DetectedVerifier>& detected,
    const std::optional<RepoConfig>& config);

// {"opt_out","reason","verifiers":[...],"disable_verifiers":[...]}.
Json ToJson(const RepoConfig& config);

}  // namespace drover::fleet
