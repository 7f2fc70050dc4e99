#include "sandbox/toolchains.h"

#include <algorithm>
#include <string_view>
#include <system_error>

namespace drover::sandbox {
namespace {

// Directories of the home that hold a whole toolchain, and the variable naming their root.
struct KnownRoot {
  std::string_view name;
  std::string_view variable;  // Empty: tools find it from HOME or PATH alone.
};
constexpr KnownRoot kKnownRoots[] = {
    {".pyenv", "PYENV_ROOT"}, {".cargo", "CARGO_HOME"}, {".rustup", "RUSTUP_HOME"},
    {".nvm", "NVM_DIR"},      {".sdkman", "SDKMAN_DIR"}, {".asdf", "ASDF_DIR"},
    {".volta", "VOLTA_HOME"}, {".bun", "BUN_INSTALL"},   {".deno", "DENO_INSTALL"},
    {"go", ""},
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
  auto add_root = [&](const std::filesystem::path& dir, std::string_view variable) {
    if (!IsDirectory(dir)) return;
    found.push_back(dir);
    if (!variable.empty()) view.env[std::string(variable)] = dir.string();
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
      add_root(home / first, known->variable);
      // rustup's cargo is a proxy that needs its toolchains too.
      if (first == ".cargo") add_root(home / ".rustup", "RUSTUP_HOME");
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
