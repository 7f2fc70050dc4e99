// What a sandbox must not show of the host even where it shows the directory around it:
// credential files inside read-only trees (toolchain roots, the spec's read-only paths) and
// the secret-bearing files of the host's configuration directories. The rules are data with
// examples (CheckHiddenPathRules); the scans walk the host once and say what to hide.
// Thread-safe: the rules and matchers are pure; HiddenPaths guards its cache with a mutex.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace drover::sandbox {

// One kind of credential file or directory, known by its name and the name of the directory
// holding it, and for names that mostly hold plain settings (pip.conf) by what it holds.
struct HiddenPathRule {
  enum class Kind { kFile, kDirectory };
  std::string_view name;    // The entry's name; `*` matches any run of characters.
  std::string_view parent;  // The name of the directory holding it; empty: any.
  Kind kind = Kind::kFile;  // A directory is hidden with everything below it.
  // "|"-separated words, ASCII case ignored: the file is hidden only when its first 64 KiB
  // hold one of them. Empty: whatever it holds.
  std::string_view markers;
  // A path (its last two components are what the rule looks at) that the rule hides, with
  // the content it has there; checked by CheckHiddenPathRules.
  std::string_view example;
  std::string_view example_content;
};

// The table, in the order it is tried.
std::span<const HiddenPathRule> HiddenPathRules();

// The first rule whose name, parent and kind fit the entry `name` in a directory named
// `parent`, or nullptr. A rule with markers still needs HidesContent.
const HiddenPathRule* MatchHiddenPath(std::string_view parent, std::string_view name,
                                      bool directory);
// True when `rule` hides a file holding `content` (its first bytes).
bool HidesContent(const HiddenPathRule& rule, std::string_view content);
// The two together for one path given as text (only its last two components count).
bool IsHiddenPath(std::string_view path, bool directory, std::string_view content);

// Every rule hides its own example, and the paths that must stay visible (a repository's
// .git/config, a library's credentials.py, a cargo config without a token, ...) stay so.
// kInternal naming the example that failed.
Status CheckHiddenPathRules();

// The configuration directories of the host that a sandbox shows (below /etc and /usr) and
// that are scanned whole: small, and where a host keeps its secrets.
std::span<const std::string_view> HostConfigDirs();

// The entries below `root` (itself included) that the rules hide. With `host_config`, also
// every entry that is not world-readable (a directory: not world-searchable), like
// /etc/shadow or /etc/ssl/private, whose owner the sandbox never is. Symlinks are not
// followed; one that a rule matches hides what it points to. A directory nested deeper than
// the scan goes is hidden whole. A missing root has nothing to hide.
std::vector<std::filesystem::path> FindHiddenPaths(const std::filesystem::path& root,
                                                   bool host_config);

// What a sandbox showing `read_only_paths` (and the host's system directories) must hide:
// FindHiddenPaths of each HostConfigDirs entry and of each read-only path, sorted. Each
// directory is scanned once per process and remembered, since scanning a toolchain root
// takes a good part of a second: a credential file created in one of them while drover runs
// is hidden from the next start of drover on.
std::vector<std::filesystem::path> HiddenPaths(
    const std::vector<std::filesystem::path>& read_only_paths);

}  // namespace drover::sandbox
