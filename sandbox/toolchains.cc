#include "sandbox/toolchains.h"

#include <algorithm>
#include <string_view>
#include <system_error>

namespace drover::sandbox {
namespace {

// Directories of the home that hold a whole toolchain, the variable naming their root, and
// what of it a sandbox shows: what runs (bin, the installed toolchains and their libraries)
// and registry caches, never the root whole, where tools also keep their credentials and
// settings (~/.cargo/credentials.toml, ...). Credential files inside these are hidden too
// (secrets.h).
struct KnownRoot {
  std::string_view name;
  std::string_view variable;  // Empty: tools find it from HOME or PATH alone.
  std::string_view shown;     // Space-separated entries of the root; missing ones are skipped.
};
constexpr KnownRoot kKnownRoots[] = {
    {".pyenv", "PYENV_ROOT", "bin completions libexec plugins pyenv.d shims version versions"},
    // config.toml may redirect sources (vendoring, mirrors); one holding a token is hidden.
    {".cargo", "CARGO_HOME", "bin config config.toml env git registry"},
    {".rustup", "RUSTUP_HOME", "settings.toml toolchains update-hashes"},
    {".nvm", "NVM_DIR", "alias nvm-exec nvm.sh versions"},
    {".sdkman", "SDKMAN_DIR", "bin candidates contrib etc ext libexec src var"},
    {".asdf", "ASDF_DIR", "asdf.sh bin installs lib libexec plugins shims"},
    {".volta", "VOLTA_HOME", "bin tools"},
    {".bun", "BUN_INSTALL", "bin install"},
    {".deno", "DENO_INSTALL", "bin"},
    {"go", "", "bin pkg"},
};

// What must never be shown, even when a PATH entry points into it.
constexpr std::string_view kSecretDirs[] = {".ssh",   ".gnupg", ".aws",  ".azure", ".config",
                                            ".docker", ".kube",  ".netrc", ".npmrc", ".pypirc",
                                            ".git-credentials"};

// The directories every sandbox shows already.
constexpr std::string_view kSystemDirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                                            "/libx32", "/etc"};

bool IsWithin(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

bool IsDirectory(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

}  // namespace

ToolchainView FindToolchains(const std::map<std::string, std::string>& env) {
  ToolchainView view;
  std::filesystem::path home;
  if (auto it = env.find("HOME"); it != env.end() && !it->second.empty()) {
    home = std::filesystem::path(it->second).lexically_normal();
  }
  std::vector<std::filesystem::path> found;
  auto add_root = [&](const KnownRoot& known, const std::filesystem::path& entry) {
    auto dir = home / known.name;
    if (!IsDirectory(dir)) return;
    if (!known.variable.empty()) view.env[std::string(known.variable)] = dir.string();
    bool entry_shown = false;
    std::string_view shown = known.shown;
    while (!shown.empty()) {
      size_t space = shown.find(' ');
      auto part = dir / shown.substr(0, space);
      shown.remove_prefix(space == std::string_view::npos ? shown.size() : space + 1);
      // A link would be refused by the sandbox (it binds nothing through one).
      std::error_code ec;
      auto status = std::filesystem::symlink_status(part, ec);
      if (!std::filesystem::exists(status) || std::filesystem::is_symlink(status)) continue;
      found.push_back(part);
      entry_shown = entry_shown || entry == part || IsWithin(entry, part);
    }
    // A PATH entry elsewhere in the root (a plugin's own bin) is shown alone.
    if (!entry.empty() && !entry_shown) found.push_back(entry);
  };
  std::string path_list = env.contains("PATH") ? env.at("PATH") : std::string();
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    std::filesystem::path entry =
        std::filesystem::path(path_list.substr(start, end - start)).lexically_normal();
    start = end + 1;
    if (!entry.is_absolute() || entry == "/" || !IsDirectory(entry)) continue;
    if (std::any_of(std::begin(kSystemDirs), std::end(kSystemDirs),
                    [&](std::string_view dir) { return IsWithin(entry, dir); })) {
      continue;
    }
    if (!home.empty() && (entry == home || IsWithin(entry, home))) {
      if (entry == home) continue;
      std::string first = entry.lexically_relative(home).begin()->string();
      if (std::find(std::begin(kSecretDirs), std::end(kSecretDirs), first) !=
          std::end(kSecretDirs)) {
        continue;
      }
      auto known = std::find_if(std::begin(kKnownRoots), std::end(kKnownRoots),
                                [&](const KnownRoot& root) { return root.name == first; });
      if (known == std::end(kKnownRoots)) {
        found.push_back(entry);  // ~/bin, ~/.local/bin: the entry alone.
        continue;
      }
      add_root(*known, entry);
      // rustup's cargo is a proxy that needs its toolchains too.
      if (first == ".cargo") {
        add_root(*std::find_if(std::begin(kKnownRoots), std::end(kKnownRoots),
                               [](const KnownRoot& root) { return root.name == ".rustup"; }),
                 {});
      }
      continue;
    }
    auto parent = entry.parent_path();
    bool bin_of_tool = entry.filename() == "bin" && std::distance(parent.begin(), parent.end()) > 2;
    found.push_back(bin_of_tool ? parent : entry);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  for (const auto& dir : found) {
    bool inside_another = std::any_of(found.begin(), found.end(), [&](const auto& other) {
      return other != dir && IsWithin(dir, other);
    });
    if (!inside_another) view.read_only_paths.push_back(dir);
  }
  return view;
}

}  // namespace drover::sandbox
