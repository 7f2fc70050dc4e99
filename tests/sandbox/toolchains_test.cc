#include "sandbox/toolchains.h"

#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace drover::sandbox {
namespace {

using drover::testing::TempDir;

TEST(Toolchains, ShowsToolchainRootsFromPathAndNothingElseOfHome) {
  TempDir root;
  auto home = root.path() / "home";
  for (const char* dir : {".pyenv/shims", ".pyenv/bin", ".cargo/bin", ".rustup/toolchains",
                          ".ssh", ".config/tool/bin", ".local/bin", "bin", "opt/gradle/bin"}) {
    std::filesystem::create_directories(home / dir);
  }
  std::filesystem::create_directories(root.path() / "opt/jdk/bin");
  std::string path = (home / ".pyenv/shims").string() + ":" + (home / ".pyenv/bin").string() +
                     ":" + (home / ".cargo/bin").string() + ":" + (home / ".ssh").string() + ":" +
                     (home / ".config/tool/bin").string() + ":" + (home / ".local/bin").string() +
                     ":" + home.string() + ":" + (root.path() / "opt/jdk/bin").string() +
                     ":/usr/local/bin:/usr/bin:/bin:relative/bin:" +
                     (root.path() / "missing/bin").string();
  auto view = FindToolchains({{"HOME", home.string()}, {"PATH", path}});
  // What runs of each root, not the root: ~/.cargo/credentials.toml stays out.
  std::vector<std::filesystem::path> expected = {
      home / ".cargo/bin",   home / ".local/bin",         home / ".pyenv/bin",
      home / ".pyenv/shims", home / ".rustup/toolchains", root.path() / "opt/jdk"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(view.read_only_paths, expected);
  EXPECT_EQ(view.env.at("PYENV_ROOT"), (home / ".pyenv").string());
  EXPECT_EQ(view.env.at("CARGO_HOME"), (home / ".cargo").string());
  EXPECT_EQ(view.env.at("RUSTUP_HOME"), (home / ".rustup").string());
  EXPECT_EQ(view.env.size(), 3u);
}

// Each known root shows its bin, installed toolchains and registry caches; the files beside
// them (credentials, settings, histories) are not bound at all.
TEST(Toolchains, ShowsWhatRunsOfARootAndNotItsCredentials) {
  TempDir root;
  auto home = root.path() / "home";
  for (const char* dir :
       {".cargo/bin", ".cargo/registry/cache", ".cargo/git/db", ".nvm/versions/node/v20.11.0/bin",
        ".nvm/alias", ".nvm/.cache", ".pyenv/plugins/pyenv-virtualenv/shims"}) {
    std::filesystem::create_directories(home / dir);
  }
  drover::testing::WriteTestFile(home, ".cargo/credentials.toml", "token = \"x\"\n");
  drover::testing::WriteTestFile(home, ".cargo/config.toml", "[build]\n");
  drover::testing::WriteTestFile(home, ".nvm/nvm.sh", "\n");
  std::filesystem::create_directory_symlink(home / ".cargo/git", home / ".cargo/env");
  std::string path = (home / ".cargo/bin").string() + ":" +
                     (home / ".nvm/versions/node/v20.11.0/bin").string() + ":" +
                     (home / ".pyenv/plugins/pyenv-virtualenv/shims").string() + ":/usr/bin";
  auto view = FindToolchains({{"HOME", home.string()}, {"PATH", path}});
  std::vector<std::filesystem::path> expected = {
      home / ".cargo/bin",      home / ".cargo/config.toml", home / ".cargo/git",
      home / ".cargo/registry", home / ".nvm/alias",         home / ".nvm/nvm.sh",
      home / ".nvm/versions",   home / ".pyenv/plugins"};
  EXPECT_EQ(view.read_only_paths, expected);
  EXPECT_EQ(view.env.at("NVM_DIR"), (home / ".nvm").string());
}

TEST(Toolchains, NothingToShowForSystemPath) {
  auto view = FindToolchains({{"HOME", "/root"}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}});
  EXPECT_TRUE(view.read_only_paths.empty());
  EXPECT_TRUE(view.env.empty());
}

}  // namespace
}  // namespace drover::sandbox
