// Eval tasks: a folder with task.yaml (the format is in README.md), its starting repository,
// hidden checks, optional solution and cassettes. Loading is strict: an unknown or mistyped
// field is an error naming file:line:field.
// Thread-safe: pure functions over value types.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "verifiers/verifier.h"

namespace drover::evals {

struct EvalTask {
  std::string id;             // Equals the task folder's name.
  std::filesystem::path dir;  // The folder holding task.yaml.
  std::string language;       // python, java, javascript, typescript, go, cpp or sql.
  std::vector<std::string> tags;
  // The folder repo/, checks/ and solution/ come from: `dir`, or the one `base:` names.
  std::filesystem::path source_dir;
  std::filesystem::path migration;                // Absolute; default source_dir/migration.md.
  std::vector<verifiers::VerifierSpec> checks;    // Hidden; run from the tree root.
  std::optional<std::filesystem::path> cassette;  // Default cassettes/solve.json if present.
  bool expect_success = true;                     // `expect: failure` marks a negative control.
  std::optional<int> max_turns;                   // limits.max_turns override.
  std::optional<int> max_attempts;                // limits.max_attempts override.

  std::filesystem::path repo_dir() const { return source_dir / "repo"; }
  std::filesystem::path checks_dir() const { return source_dir / "checks"; }
  std::filesystem::path solution_dir() const { return source_dir / "solution"; }
};

// Reads dir/task.yaml. Errors: kNotFound, kParse (YAML), kInvalidArgument
// ("suite/t1/task.yaml:4: checks[0].timeout_seconds: expected a positive integer").
Result<EvalTask> LoadTask(const std::filesystem::path& dir);

// Every folder under `suite` (searched recursively, links not followed) holding a task.yaml,
// loaded and sorted by id; `glob` (`*` and `?`, empty for all) filters ids. Errors: the
// first task that does not load, a duplicate id, or a suite with no task.
Result<std::vector<EvalTask>> LoadSuite(const std::filesystem::path& suite,
                                        const std::string& glob = "");

// Whether `text` matches `glob` (`*` any run of characters, `?` one).
bool GlobMatch(std::string_view glob, std::string_view text);

}  // namespace drover::evals
