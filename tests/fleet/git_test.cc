#include "fleet/git.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "tests/testing/git_http_server.h"
#include "tests/testing/testing.h"

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

  // Git metadata made in the workspace (by a build or the agent) is never part of the change.
  Sh("cd '" + wt.workspace.string() +
     "' && git init -q . && mkdir -p vendor/lib && cd vendor/lib && git init -q . && "
     "echo x > f && git add f && git -c user.name=a -c user.email=b commit -qm x");
  auto with_repos = git_.Diff(wt);
  ASSERT_OK(with_repos);
  EXPECT_EQ(with_repos->paths, diff->paths);
  fs::remove_all(wt.workspace / ".git");
  fs::remove_all(wt.workspace / "vendor");

  // Reverting the change empties the diff again (the saved index does not stick).
  WriteTestFile(wt.workspace, "a.txt", "one\ntwo\nthree\n");
  WriteTestFile(wt.workspace, "b.txt", "to be deleted\n");
  fs::remove_all(wt.workspace / "new");
  fs::remove(wt.workspace / "blob.bin");
  diff = git_.Diff(wt);
  ASSERT_OK(diff);
  EXPECT_TRUE(diff->empty()) << diff->patch;
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
