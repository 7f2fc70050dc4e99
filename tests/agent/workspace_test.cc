#include "agent/workspace.h"

#include <sys/stat.h>

#include <filesystem>

#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;
using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "repo";
    outside_ = tmp_.path() / "outside";
    WriteTestFile(root_, "src/main.py", "print('hi')\n");
    WriteTestFile(root_, ".git/config", "[core]\n");
    WriteTestFile(outside_, "secret.txt", "secret\n");
    workspace_ = std::make_unique<Workspace>(root_);
  }

  void ExpectDenied(std::string_view path, bool for_write) {
    auto resolved = workspace_->Resolve(path, for_write);
    ASSERT_FALSE(resolved.has_value()) << path << " resolved to " << *resolved;
    EXPECT_EQ(resolved.error().code, ErrorCode::kPermissionDenied) << resolved.error().ToString();
    EXPECT_NE(resolved.error().message.find(std::string(path)), std::string::npos)
        << "message should name the path: " << resolved.error().message;
  }

  // Nothing outside the workspace may appear or change.
  void ExpectOutsideUntouched() {
    EXPECT_EQ(ReadTestFile(outside_ / "secret.txt"), "secret\n");
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(outside_)) ++entries;
    EXPECT_EQ(entries, 1u);
    EXPECT_FALSE(fs::exists(tmp_.path() / "x"));
  }

  TempDir tmp_;
  fs::path root_;
  fs::path outside_;
  std::unique_ptr<Workspace> workspace_;
};

TEST_F(WorkspaceTest, ReadsAndWritesInside) {
  auto text = workspace_->ReadText("src/main.py");
  ASSERT_OK(text);
  EXPECT_EQ(*text, "print('hi')\n");
  ASSERT_OK(workspace_->WriteText("new/deep/file.txt", "content"));
  EXPECT_EQ(ReadTestFile(root_ / "new/deep/file.txt"), "content");
  ASSERT_OK(workspace_->WriteText("./src/../src/main.py", "print('bye')\n"));
  EXPECT_EQ(ReadTestFile(root_ / "src/main.py"), "print('bye')\n");
  auto resolved = workspace_->Resolve("src/./main.py", false);
  ASSERT_OK(resolved);
  EXPECT_EQ(*resolved, root_ / "src/main.py");
}

TEST_F(WorkspaceTest, DotDotLeadingOutIsRefused) {
  ExpectDenied("../x", false);
  ExpectDenied("../x", true);
  ExpectDenied("src/../../x", true);
  ExpectDenied("../../../../../../etc/passwd", false);
  EXPECT_FALSE(workspace_->WriteText("../x", "x").has_value());
  EXPECT_FALSE(workspace_->ReadText("../outside/secret.txt").has_value());
  ExpectOutsideUntouched();
}

TEST_F(WorkspaceTest, AbsolutePathsOutsideAreRefusedInsideAllowed) {
  ExpectDenied((outside_ / "secret.txt").string(), false);
  ExpectDenied((outside_ / "new.txt").string(), true);
  ExpectDenied("/etc/passwd", false);
  EXPECT_FALSE(workspace_->WriteText((outside_ / "new.txt").string(), "x").has_value());
  auto inside = workspace_->ReadText((root_ / "src/main.py").string());
  ASSERT_OK(inside);
  ExpectOutsideUntouched();
}

TEST_F(WorkspaceTest, SymlinksLeadingOutAreRefused) {
  fs::create_directory_symlink(outside_, root_ / "escape");
  fs::create_symlink(outside_ / "secret.txt", root_ / "secret_link.txt");
  fs::create_symlink("../outside/secret.txt", root_ / "relative_link.txt");
  ExpectDenied("escape/secret.txt", false);
  ExpectDenied("escape/pwned.txt", true);
  ExpectDenied("secret_link.txt", false);
  ExpectDenied("relative_link.txt", false);
  EXPECT_FALSE(workspace_->ReadText("escape/secret.txt").has_value());
  EXPECT_FALSE(workspace_->WriteText("escape/pwned.txt", "x").has_value());
  EXPECT_FALSE(workspace_->WriteText("escape/sub/pwned.txt", "x").has_value());
  EXPECT_FALSE(workspace_->WriteText("secret_link.txt", "x").has_value());
  auto listing = workspace_->List("escape", "", 100);
  EXPECT_FALSE(listing.has_value());
  ExpectOutsideUntouched();
}

TEST_F(WorkspaceTest, SymlinksInsideCanBeReadButNotWrittenThrough) {
  fs::create_symlink("src/main.py", root_ / "link.py");
  fs::create_directory_symlink("src", root_ / "srclink");
  auto text = workspace_->ReadText("link.py");
  ASSERT_OK(text);
  EXPECT_EQ(*text, "print('hi')\n");
  ASSERT_OK(workspace_->ReadText("srclink/main.py"));
  auto write = workspace_->WriteText("link.py", "x");
  ASSERT_FALSE(write.has_value());
  EXPECT_EQ(write.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(write.error().message.find("src/main.py"), std::string::npos) << write.error().message;
  EXPECT_FALSE(workspace_->WriteText("srclink/main.py", "x").has_value());
  EXPECT_EQ(ReadTestFile(root_ / "src/main.py"), "print('hi')\n");
}

TEST_F(WorkspaceTest, GitFolderIsRefused) {
  ExpectDenied(".git/config", false);
  ExpectDenied(".git/hooks/pre-commit", true);
  ExpectDenied("src/../.git/config", true);
  fs::create_directory_symlink(".git", root_ / "gitlink");
  ExpectDenied("gitlink/config", false);
  EXPECT_FALSE(workspace_->WriteText(".git/hooks/post-checkout", "#!/bin/sh\n").has_value());
  EXPECT_FALSE(fs::exists(root_ / ".git/hooks"));
}

TEST_F(WorkspaceTest, WriteKeepsModeAndLeavesNoTemporaryFiles) {
  WriteTestFile(root_, "run.sh", "#!/bin/sh\n");
  fs::permissions(root_ / "run.sh", fs::perms(0755));
  ASSERT_OK(workspace_->WriteText("run.sh", "#!/bin/sh\necho hi\n"));
  EXPECT_EQ(fs::status(root_ / "run.sh").permissions(), fs::perms(0755));
  for (const auto& e : fs::directory_iterator(root_)) {
    EXPECT_EQ(e.path().filename().string().find(".drover-write"), std::string::npos);
  }
}

TEST_F(WorkspaceTest, ReadingAFifoDoesNotHang) {
  ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0644), 0);
  auto text = workspace_->ReadText("pipe");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);
}

TEST(MatchGlob, Patterns) {
  EXPECT_TRUE(MatchGlob("*.py", "a.py"));
  EXPECT_FALSE(MatchGlob("*.py", "src/a.py"));
  EXPECT_TRUE(MatchGlob("**/*.py", "a.py"));
  EXPECT_TRUE(MatchGlob("**/*.py", "src/deep/a.py"));
  EXPECT_TRUE(MatchGlob("src/**", "src/deep/a.py"));
  EXPECT_TRUE(MatchGlob("a/**/b", "a/b"));
  EXPECT_TRUE(MatchGlob("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(MatchGlob("a/**/b", "a/x/c"));
  EXPECT_TRUE(MatchGlob("file?.[ch]", "file1.c"));
  EXPECT_FALSE(MatchGlob("file?.[ch]", "file1.o"));
  EXPECT_TRUE(MatchGlob("[!a]*", "b"));
  EXPECT_FALSE(MatchGlob("[!a]*", "a"));
  EXPECT_TRUE(MatchGlob("\\*x", "*x"));
  EXPECT_FALSE(MatchGlob("?", "/"));
}

TEST(IgnoreRules, GitignoreSubset) {
  IgnoreRules rules;
  rules.Add("# comment\n\n*.pyc\n!keep.pyc\nbuild/\n/only_root.txt\ndocs/*.html\n**/tmp\n", "");
  rules.Add("local.txt\n", "sub");
  EXPECT_TRUE(rules.Ignored("a.pyc", false));
  EXPECT_TRUE(rules.Ignored("src/a.pyc", false));
  EXPECT_FALSE(rules.Ignored("keep.pyc", false));
  EXPECT_TRUE(rules.Ignored("build", true));
  EXPECT_TRUE(rules.Ignored("src/build", true));
  EXPECT_FALSE(rules.Ignored("build", false));  // A file named build is not a folder.
  EXPECT_TRUE(rules.Ignored("only_root.txt", false));
  EXPECT_FALSE(rules.Ignored("src/only_root.txt", false));
  EXPECT_TRUE(rules.Ignored("docs/a.html", false));
  EXPECT_FALSE(rules.Ignored("docs/x/a.html", false));
  EXPECT_TRUE(rules.Ignored("a/b/tmp", true));
  EXPECT_TRUE(rules.Ignored("sub/local.txt", false));
  EXPECT_TRUE(rules.Ignored("sub/x/local.txt", false));
  EXPECT_FALSE(rules.Ignored("local.txt", false));
}

TEST_F(WorkspaceTest, ListSkipsGitAndIgnoredFiles) {
  WriteTestFile(root_, ".gitignore", "__pycache__/\n*.log\n");
  WriteTestFile(root_, "src/__pycache__/main.cpython.pyc", "x");
  WriteTestFile(root_, "src/run.log", "x");
  WriteTestFile(root_, "src/lib/.gitignore", "generated.py\n");
  WriteTestFile(root_, "src/lib/generated.py", "x");
  WriteTestFile(root_, "src/lib/util.py", "x");
  WriteTestFile(root_, "README.md", "x");
  auto all = workspace_->List("", "", 100);
  ASSERT_OK(all);
  EXPECT_EQ(all->paths, (std::vector<std::string>{".gitignore", "README.md", "src/main.py",
                                                  "src/lib/.gitignore", "src/lib/util.py"}));
  EXPECT_FALSE(all->truncated);
  auto py = workspace_->List("", "*.py", 100);
  ASSERT_OK(py);
  EXPECT_EQ(py->paths, (std::vector<std::string>{"src/main.py", "src/lib/util.py"}));
  auto under = workspace_->List("src/lib", "", 100);
  ASSERT_OK(under);
  EXPECT_EQ(under->paths, (std::vector<std::string>{"src/lib/.gitignore", "src/lib/util.py"}));
  auto capped = workspace_->List("", "", 2);
  ASSERT_OK(capped);
  EXPECT_EQ(capped->paths.size(), 2u);
  EXPECT_TRUE(capped->truncated);
  EXPECT_FALSE(workspace_->List("missing", "", 10).has_value());
}

TEST_F(WorkspaceTest, SearchFindsLinesSkipsBinaryAndCaps) {
  WriteTestFile(root_, "a.py", "import os\nuser_id = 1\nprint(user_id)\n");
  WriteTestFile(root_, "b.bin", std::string("user_id\0binary", 14));
  WriteTestFile(root_, "c.txt", "no match here\r\nuser_id at end\r\n");
  auto found = workspace_->Search("user_id\\b", "", "", 10);
  ASSERT_OK(found);
  ASSERT_EQ(found->hits.size(), 3u);
  EXPECT_EQ(found->hits[0].path, "a.py");
  EXPECT_EQ(found->hits[0].line, 2);
  EXPECT_EQ(found->hits[0].text, "user_id = 1");
  EXPECT_EQ(found->hits[2].path, "c.txt");
  EXPECT_EQ(found->hits[2].text, "user_id at end");
  EXPECT_EQ(found->skipped_files, 1);
  auto capped = workspace_->Search("user_id", "", "*.py", 1);
  ASSERT_OK(capped);
  EXPECT_EQ(capped->hits.size(), 1u);
  EXPECT_TRUE(capped->truncated);
  auto bad = workspace_->Search("(unclosed", "", "", 10);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("(unclosed"), std::string::npos);
}

TEST_F(WorkspaceTest, SearchDoesNotFollowSymlinksOut) {
  fs::create_symlink(outside_ / "secret.txt", root_ / "secret_link.txt");
  auto found = workspace_->Search("secret", "", "", 10);
  ASSERT_OK(found);
  EXPECT_TRUE(found->hits.empty());
}

}  // namespace
}  // namespace drover::agent
