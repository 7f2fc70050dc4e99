// The diff policy: what a migration's final change may touch, delete, skip and must leave
// behind. A unified git diff is parsed into per-file changes and checked by pure functions;
// only FindRemaining reads the workspace. Thread-safe: free functions over value types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace drover::verifiers {

enum class FileStatus { kAdded, kDeleted, kModified, kRenamed };

struct DiffLine {
  int old_line = 0;  // 1-based line in the old file; 0 for an added line.
  int new_line = 0;  // 1-based line in the new file; 0 for a removed line.
  std::string text;  // Without the leading '+', '-' or ' ' and the line end.
};

struct FileChange {
  std::string old_path;  // Empty when added.
  std::string new_path;  // Empty when deleted.
  FileStatus status = FileStatus::kModified;
  bool binary = false;  // Binary files carry no lines.
  // Git modes (0100644, 0100755, 0120000 a symbolic link, 0160000 a submodule; 0 when that
  // side is absent or the patch does not say), from the header lines.
  uint32_t old_mode = 0;
  uint32_t new_mode = 0;
  // What a new or changed symbolic link points to (its blob, the single added line).
  std::string symlink_target;
  // Bytes of the new side's blob. Not in patch text: set by whoever computed the diff (the
  // runner, from the commit); ParseDiff leaves it 0.
  uint64_t new_size = 0;
  std::vector<DiffLine> added;
  std::vector<DiffLine> removed;
  std::vector<DiffLine> context;  // The unchanged lines the hunks show around the changes.
  // The path a reader knows the file by: the new one, or the old one when deleted.
  const std::string& path() const { return new_path.empty() ? old_path : new_path; }
};

struct ParsedDiff {
  std::vector<FileChange> files;
  int lines_added() const;
  int lines_removed() const;
};

// Parses `git diff` / libgit2 patch text (a/ and b/ prefixes, C-quoted paths, renames, binary
// notes, mode changes). An empty text gives no files. kParse when the text is not such a
// diff (a hunk outside a file, hunk line counts that do not add up).
Result<ParsedDiff> ParseDiff(std::string_view patch);

// Globs over '/'-separated paths relative to the repository root, matched against the whole
// path: `*` is any run of characters within one segment, `?` one character other than '/',
// `**` as a whole segment any number of segments (zero included), so `src/**` is src itself
// and everything below it, and `**/*.lock` every .lock file. Everything else is literal; there are
// no character classes, and a glob without '/' matches top-level names only.
bool GlobMatches(std::string_view glob, std::string_view path);
// kInvalidArgument naming the problem: empty, absolute, `**` inside a segment (`a**`),
// empty, `.` or `..` segments, or a `[` (character classes are not supported).
Status CheckGlob(std::string_view glob);

struct DiffRules {
  // Every changed path (both paths of a rename) must match one of these. Empty: any path.
  std::vector<std::string> allowed_paths;
  // No changed path may match one of these.
  std::vector<std::string> forbidden_paths;
  int max_files_changed = 50;
  int max_lines_changed = 2000;  // Added plus removed.
  // Test functions and test files the change removes without re-adding them elsewhere.
  bool allow_deleted_tests = false;
  // Added skip markers (@Disabled, pytest.skip, t.Skip(, xit(, #[ignore], DISABLED_, ...).
  bool allow_skipped_tests = false;
  // Plain substrings (no regex, case-sensitive) no added line may contain and, through
  // FindRemaining, no file of the final tree.
  std::vector<std::string> must_be_gone;
  // Globs of files where must_be_gone patterns may stay (a changelog, vendored code).
  std::vector<std::string> must_be_gone_except;
  // Plain substrings each of which some added line must contain.
  std::vector<std::string> must_appear;
  // New or changed symbolic links whose target leaves the repository (absolute, or climbing
  // out with `..`). Links into or out of `.git` are refused whatever this says.
  bool allow_external_symlinks = false;
  // Added or changed binary files (git's test: a NUL byte). Allowed ones are listed in the PR.
  bool allow_binary_files = false;
  // No changed file's new side may be larger: FileChange::new_size when known, else the bytes
  // of its added lines.
  uint64_t max_file_bytes = 1 << 20;
  // Invisible and control characters in added lines (bidirectional controls, zero-width
  // characters, the tag block, a byte-order mark past the start, C0/C1 controls other than
  // tab and CR): refused, or with `flag_invisible_characters` listed in the PR instead.
  bool flag_invisible_characters = false;
  // Globs of control files the change may touch: CI configuration, git hooks and hook
  // managers, .gitattributes, .gitmodules and submodule commits, code owners (ControlFileKind
  // says which paths those are). Control files outside these are refused; those inside are
  // listed in the PR.
  std::vector<std::string> allow_control_files;
  // Files that define how verification runs. Build files whose test recipes or targets change
  // and test-runner configuration (VerificationFileKind) are listed in the PR, or refused with
  // `refuse_verification_changes`. Files that shadow a test runner or what it imports are
  // refused whatever that says. Globs in `allow_verification_files` are only listed, never
  // refused.
  bool refuse_verification_changes = false;
  std::vector<std::string> allow_verification_files;
  // Test files left with fewer assertions while files other than tests change, and added
  // assertions that are always true (`assert True`, `EXPECT_EQ(1, 1)`, `expect(x).toBe(x)`):
  // listed in the PR, or refused with `refuse_weakened_tests`.
  bool refuse_weakened_tests = false;
  // The job's verifier commands, which make targets, package scripts, Python modules and
  // programs define verification (`make -s test` makes the `test` recipe one). Not a spec
  // field: the runner sets it from the spec's and the repository's verifiers.
  std::vector<std::string> verifier_commands;
};

// Added lines are always scanned for credentials (FindCredentials); a hit refuses the change.

struct PolicyVerdict {
  // Short sentences, e.g. "deletes the test test_totals in tests/test_cart.py", written for
  // the PR body and for the agent's next attempt alike.
  std::vector<std::string> violations;
  // What the policy allowed but a reviewer must see (a changed CI file the spec allows, a
  // new binary within its limit): one sentence each, listed in the PR. Never a reason to
  // refuse the change.
  std::vector<std::string> notes;
  // Flagged (not refused) changes to how verification runs, and weakened tests: one sentence
  // each, shown in a PR section of their own and in summary.json. Refused ones are violations.
  std::vector<std::string> verification_changes;
  std::vector<std::string> weakened_tests;
  bool ok() const { return violations.empty(); }
  // "- sentence\n" per violation.
  std::string Bullets() const;
};

// The kind of each credential one line holds ("an AWS access key id", "a GitHub token", "a
// private key", "a secret assigned to `password`"), in order; never the value. Known token
// formats count wherever they appear, unless the value is a documented example or a run of
// one character; other values only when assigned to a secret-like name, quoted or bare, long
// and varied enough to be random (not an environment lookup, template or placeholder).
std::vector<std::string> FindCredentials(std::string_view line);

// What a control file of the repository `path` is ("CI configuration", "a git hook",
// "git attributes", "submodules", "code owners"), or empty when it is an ordinary file.
std::string_view ControlFileKind(std::string_view path);

// What a file of the repository at `path` is to verification under `verifier_commands`:
// "a test-runner shim" (refused unless allowed), "test-runner configuration", "a build file"
// (whose test recipes, targets or settings count, judged by line) or empty.
std::string_view VerificationFileKind(std::string_view path,
                                      std::span<const std::string> verifier_commands);

// Assertions `line` of the source file `path` makes (Python assert and self.assert*,
// pytest.raises; JS expect/assert; Go t.Error/t.Fatal/require/assert; Rust assert!; gtest
// EXPECT_/ASSERT_, CHECK; JUnit assert*), and how many of them are always true.
struct AssertionCount {
  int total = 0;
  int trivial = 0;
};
AssertionCount CountAssertions(std::string_view path, std::string_view line);

// Checks the parsed diff against every rule; must_be_gone only as far as the added lines go.
PolicyVerdict CheckDiff(const ParsedDiff& diff, const DiffRules& rules);

struct Occurrence {
  std::string path;  // Relative to the workspace, '/'-separated.
  int line = 0;      // 1-based.
  std::string pattern;
  std::string Where() const { return path + ":" + std::to_string(line); }
};

// Every line of the workspace's files containing one of `patterns`, in path then line order,
// at most `max_hits`. Reads regular files only: symbolic links are never followed, `.git` is
// skipped, and so are files over 1 MiB, files with a NUL byte in their first 8 KiB (binary)
// and paths matching an `exclude` glob. Errors: kNotFound when `workspace` is missing, kIo
// when it cannot be walked; files that cannot be opened are skipped.
Result<std::vector<Occurrence>> FindRemaining(const std::filesystem::path& workspace,
                                              std::span<const std::string> patterns,
                                              std::span<const std::string> exclude,
                                              size_t max_hits);

// The workspace half of the policy. must_be_gone: one violation per pattern still in the
// workspace (outside must_be_gone_except) at a place the diff did not add, since CheckDiff
// already names those. Symbolic links moved without a change (the diff shows neither their
// mode nor their target): judged from the link in the workspace, as CheckDiff judges new
// ones. Makefiles: changed recipes of targets that the verifiers' targets depend on in the
// workspace's Makefile (`test: build`), as CheckDiff judges the verifiers' own. Errors as
// FindRemaining, and kIo when such a link cannot be read.
Status CheckRemaining(const std::filesystem::path& workspace, const ParsedDiff& diff,
                      const DiffRules& rules, PolicyVerdict& verdict);

}  // namespace drover::verifiers
