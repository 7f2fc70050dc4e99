// The repositories a migration runs over, read from a repos file (one git URL or path a line).
// Thread-safe: free functions over value types.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace drover::fleet {

struct Target {
  // A URL (https://, ssh://, git://, file://, or scp-like host:path) or an absolute path;
  // relative paths are resolved against the repos file's directory.
  std::string location;
  // Display name, also used as a directory name: the last path component without ".git",
  // reduced to [A-Za-z0-9._-], made unique with "-2", "-3", ... in file order.
  std::string name;
  bool is_local = false;  // A filesystem path or a file:// URL.
  int line = 0;           // 1-based line in the repos file.
};

// Reads `repos_file`: one target a line (a path is the whole trimmed line, spaces included;
// a URL has none); blank lines and `#` comments (at the start of a line or after whitespace)
// are ignored. Errors: those of ReadFile (kNotFound, kIo), or
// kInvalidArgument as "<file>:<line>: <what is wrong>" for a malformed or repeated target.
Result<std::vector<Target>> LoadTargets(const std::filesystem::path& repos_file);

// The same over `text` (a repos file's content): relative paths are resolved against `base`,
// and errors name `file_name` as they would the file.
Result<std::vector<Target>> ParseTargets(std::string_view text, const std::filesystem::path& base,
                                         std::string_view file_name);

}  // namespace drover::fleet
