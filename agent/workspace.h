// Path confinement for the agent's tools: every path the model names is resolved inside one
// workspace root, and reads and writes go through openat2(RESOLVE_BENEATH) so that a symlink
// swapped in during a call cannot lead out. Not thread-safe: one agent loop owns a Workspace;
// its const calls may run concurrently (the repo map reads files from several threads).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace drover::agent {

// Glob over '/'-separated relative paths: `*` and `?` stay within one path segment, `**`
// crosses segments (`**/` also matches zero segments), `[a-z]`/`[!x]` are character classes
// and `\` escapes the next character.
bool MatchGlob(std::string_view glob, std::string_view path);

// The subset of .gitignore semantics the tools need: blank and `#` lines skipped, `!`
// negation (last matching rule wins), trailing `/` matches directories only, a `/` at the
// start or in the middle anchors the rule to the .gitignore's folder (otherwise it matches a
// name at any depth), and `**` as in MatchGlob. Not supported: escaped trailing spaces,
// re-including a file inside an excluded folder (git does not either), core.excludesFile.
class IgnoreRules {
 public:
  // Adds the rules of one .gitignore found in folder `base` ("" for the root, else "a/b").
  void Add(std::string_view gitignore_text, std::string_view base);
  // `path` is relative to the workspace root.
  bool Ignored(std::string_view path, bool is_dir) const;

 private:
  struct Rule {
    std::string base;
    std::string glob;
    bool negated = false;
    bool dir_only = false;
    bool anchored = false;
  };
  std::vector<Rule> rules_;
};

struct Listing {
  std::vector<std::string> paths;  // Relative to the root, sorted, files (and symlinks) only.
  bool truncated = false;          // More matched than `max_entries`.
};

struct SearchHit {
  std::string path;  // Relative to the root.
  int line = 0;      // 1-based.
  std::string text;  // The line, cut to a readable length.
};

struct SearchResults {
  std::vector<SearchHit> hits;
  bool truncated = false;  // More than `max_hits` lines matched.
  int skipped_files = 0;   // Binary or too large to search.
};

class Workspace {
 public:
  // REQUIRES: `root` is an existing directory. It is made canonical; when that fails every
  // operation fails with kNotFound.
  explicit Workspace(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // Maps a path the model gave (relative, or absolute inside the root) to an absolute path
  // inside the root. kPermissionDenied, naming the path, for: absolute paths outside the root,
  // `..` leading out, a symlink on the way that leads out, anything inside `.git`, and for
  // writes any symlink on the way. "" and "." name the root itself (reads only).
  Result<std::filesystem::path> Resolve(std::string_view relative, bool for_write) const;

  // Whole file (up to 16 MiB). kNotFound, kPermissionDenied, kInvalidArgument (a directory or
  // too large), kIo.
  Result<std::string> ReadText(std::string_view relative) const;

  // Replaces the file atomically (temporary file and rename in the same folder), creating
  // missing parent folders inside the root; keeps an existing file's mode.
  Status WriteText(std::string_view relative, std::string_view content);

  // True when the path names an existing regular file (after confinement checks).
  bool IsFile(std::string_view relative) const;

  // Files under `dir` ("" for all), skipping `.git` and what the .gitignore files exclude.
  // A `glob` without '/' matches file names at any depth; with '/', the path from the root.
  Result<Listing> List(std::string_view dir, std::string_view glob, size_t max_entries) const;

  // Lines matching the ECMAScript regex `pattern` in the files List(dir, glob) would give.
  // Binary files (a NUL in the first 8 KiB) and files over 1 MiB are skipped.
  // kInvalidArgument when the pattern does not compile (message says why).
  Result<SearchResults> Search(std::string_view pattern, std::string_view dir,
                               std::string_view glob, size_t max_hits) const;

 private:
  // The normalized relative path ("" for the root) after all confinement checks.
  Result<std::string> Confine(std::string_view relative, bool for_write) const;

  std::filesystem::path root_;
  bool root_ok_ = false;
};

}  // namespace drover::agent
