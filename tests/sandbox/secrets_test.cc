#include "sandbox/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/testing/testing.h"

namespace drover::sandbox {
namespace {

using drover::testing::TempDir;
using drover::testing::WriteTestFile;

TEST(HiddenPathRules, EveryRuleHidesItsExampleAndKeepsWhatMustStayVisible) {
  ASSERT_OK(CheckHiddenPathRules());
}

TEST(HiddenPathRules, ByNameWhereTheNameSaysItAndByContentWhereItDoesNot) {
  EXPECT_TRUE(IsHiddenPath("/root/.cargo/credentials.toml", false, ""));
  EXPECT_TRUE(IsHiddenPath("/root/.nvm/versions/node/v20.11.0/etc/npmrc", false,
                           "//registry.npmjs.org/:_authToken=npm_abc\n"));
  EXPECT_FALSE(IsHiddenPath("/usr/etc/npmrc", false, "cafile=/etc/ssl/certs/ca.crt\n"));
  EXPECT_TRUE(IsHiddenPath("/home/u/.aws", true, ""));
  EXPECT_TRUE(IsHiddenPath("/etc/ssh/ssh_host_rsa_key", false, ""));
  EXPECT_FALSE(IsHiddenPath("/etc/ssh/ssh_host_rsa_key.pub", false, ""));
  EXPECT_TRUE(IsHiddenPath("/etc/ssl/private", true, ""));
  EXPECT_FALSE(IsHiddenPath("/etc/ssl/private", false, ""));  // A file of that name.
  EXPECT_TRUE(IsHiddenPath("/root/.cargo/config.toml", false, "[registry]\nTOKEN = \"x\"\n"));
  EXPECT_FALSE(IsHiddenPath("/root/.cargo/config.toml", false, "[build]\njobs = 4\n"));
  EXPECT_TRUE(IsHiddenPath("/etc/pip.conf", false, "index-url = https://u:p@mirror/simple\n"));
  EXPECT_FALSE(IsHiddenPath("/etc/pip.conf", false, "index-url = https://mirror/simple\n"));
  EXPECT_FALSE(IsHiddenPath("/repo/.git/config", false, "[core]\n"));
  EXPECT_FALSE(IsHiddenPath("/lib/google/auth/credentials.py", false, ""));
}

std::vector<std::filesystem::path> Sorted(std::vector<std::filesystem::path> paths) {
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(FindHiddenPaths, FindsCredentialsAnywhereInATreeAndNothingElse) {
  TempDir dir;
  auto root = dir.path() / "cargo";
  WriteTestFile(root, "bin/cargo", "#!/bin/sh\n");
  WriteTestFile(root, "credentials.toml", "token\n");
  WriteTestFile(root, "config.toml", "[build]\n");
  WriteTestFile(root, "registry/src/serde-1.0.0/Cargo.toml", "[package]\n");
  WriteTestFile(root, "registry/src/serde-1.0.0/.git/config", "[core]\n");
  WriteTestFile(root, "versions/v20/etc/npmrc", "_authToken=x\n");
  WriteTestFile(root, "deep/a/b/c/.pypirc", "[pypi]\n");
  WriteTestFile(root, ".aws/credentials", "key\n");
  WriteTestFile(root, "data/blob", "machine x password y\n");
  // A link with a credential's name hides what it points to, wherever that is in the tree.
  std::filesystem::create_symlink(root / "data/blob", root / "deep/.netrc");
  EXPECT_EQ(Sorted(FindHiddenPaths(root, false)),
            Sorted({root / ".aws", root / "credentials.toml", root / "data/blob",
                    root / "deep/a/b/c/.pypirc", root / "versions/v20/etc/npmrc"}));
  EXPECT_EQ(FindHiddenPaths(root / "credentials.toml", false),
            std::vector<std::filesystem::path>{root / "credentials.toml"});
  EXPECT_EQ(FindHiddenPaths(root / "missing", false), std::vector<std::filesystem::path>{});
}

TEST(FindHiddenPaths, HostConfigHidesWhatIsNotWorldReadable) {
  TempDir dir;
  auto root = dir.path() / "etc";
  WriteTestFile(root, "passwd", "root:x:0:0::/root:/bin/sh\n");
  WriteTestFile(root, "db.conf", "password\n");
  WriteTestFile(root, "vault/key", "key\n");
  chmod((root / "passwd").c_str(), 0644);
  chmod((root / "db.conf").c_str(), 0640);
  chmod((root / "vault").c_str(), 0750);
  chmod(root.c_str(), 0755);
  EXPECT_EQ(Sorted(FindHiddenPaths(root, true)), Sorted({root / "db.conf", root / "vault"}));
  EXPECT_EQ(FindHiddenPaths(root, false), std::vector<std::filesystem::path>{});
}

TEST(FindHiddenPaths, ADirectoryBeyondTheScanDepthIsHiddenWhole) {
  TempDir dir;
  std::filesystem::path deepest = dir.path();
  for (int i = 0; i < 130; ++i) deepest /= "d";
  std::filesystem::create_directories(deepest);
  std::filesystem::path cut = dir.path();
  for (int i = 0; i < 128; ++i) cut /= "d";
  EXPECT_EQ(FindHiddenPaths(dir.path(), false), std::vector<std::filesystem::path>{cut});
}

TEST(HiddenPaths, IncludeTheHostSecretsAndTheReadOnlyPathsCredentials) {
  TempDir dir;
  WriteTestFile(dir.path(), "tool/.netrc", "machine x\n");
  auto hidden = HiddenPaths({dir.path() / "tool"});
  EXPECT_NE(std::find(hidden.begin(), hidden.end(), dir.path() / "tool/.netrc"), hidden.end());
  if (std::filesystem::exists("/etc/shadow")) {
    EXPECT_NE(std::find(hidden.begin(), hidden.end(), "/etc/shadow"), hidden.end());
  }
  EXPECT_TRUE(std::is_sorted(hidden.begin(), hidden.end()));
}

}  // namespace
}  // namespace drover::sandbox
