// Splitting a git remote location into host and repository path, for the forges.
// Thread-safe: a pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace drover::fleet {

struct RemoteLocation {
  std::string host;  // Lower-case, without user or port.
  std::string path;  // "owner/repo" or "group/sub/project": no leading or trailing '/', no ".git".
};

// Accepts SCHEME://[USER@]HOST[:PORT]/PATH and scp-like [USER@]HOST:PATH, with an optional
// trailing '/' or ".git"; nullopt for anything else (a local path, an empty host or path, "//").
std::optional<RemoteLocation> ParseRemoteLocation(std::string_view location);

}  // namespace drover::fleet
