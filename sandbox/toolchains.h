// Toolchains that live outside the system directories (pyenv, rustup, nvm, /opt/...), found
// from PATH, so that a sandbox can show them read-only and nothing else of the home directory.
// Thread-safe: pure functions over the filesystem.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace drover::sandbox {

struct ToolchainView {
  std::vector<std::filesystem::path> read_only_paths;  // Absolute, existing, none inside another.
  std::map<std::string, std::string> env;  // Where tools find their roots (PYENV_ROOT, ...).
};

// For each directory on env's PATH that the sandbox does not already show (/usr, /bin, ...):
// under HOME, what runs of the known toolchain root holding it (~/.pyenv, ~/.cargo and
// ~/.rustup, ~/.nvm, ~/.sdkman, ~/.asdf, ~/.volta, ~/.bun, ~/.deno, ~/go): its bin, installed
// toolchains and registry caches (e.g. ~/.cargo/bin and ~/.cargo/registry, never
// ~/.cargo/credentials.toml), plus the entry itself when it lies elsewhere in the root; or
// else the entry alone (~/.local/bin); elsewhere, `X` for an entry `X/bin` (e.g. /opt/gradle),
// else the entry. Never HOME itself, never a credential directory (~/.ssh, ~/.config, ~/.aws,
// ...), never "/", never a symbolic link of a root. Credential files inside what is shown are
// found by HiddenPaths (secrets.h), not here.
ToolchainView FindToolchains(const std::map<std::string, std::string>& env);

}  // namespace drover::sandbox
