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
  std::vector<std::filesystem::path> expected = {home / ".cargo", home / ".local/bin",
                                                 home / ".pyenv", home / ".rustup",
                                                 root.path() / "opt/jdk"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(view.read_only_paths, expected);
  EXPECT_EQ(view.env.at("PYENV_ROOT"), (home / ".pyenv").string());
  EXPECT_EQ(view.env.at("CARGO_HOME"), (home / ".cargo").string());
  EXPECT_EQ(view.env.at("RUSTUP_HOME"), (home / ".rustup").string());
  EXPECT_EQ(view.env.size(), 3u);
}

TEST(Toolchains, NothingToShowForSystemPath) {
  auto view = FindToolchains({{"HOME", "/root"}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}});
  EXPECT_TRUE(view.read_only_paths.empty());
  EXPECT_TRUE(view.env.empty());
}

}  // namespace
}  // namespace drover::sandbox
