#include "forge/forge.h"

#include <gtest/gtest.h>

#include "core/json.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

namespace fs = std::filesystem;
using drover::testing::InitGitRepo;
using drover::testing::ReadTestFile;
using drover::testing::Sh;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

Json ReadJson(const fs::path& path) {
  auto json = ParseJson(ReadTestFile(path), path.string());
  EXPECT_TRUE(json.has_value()) << path;
  return json ? *json : Json();
}

class LocalForgeTest : public ::testing::Test {
 protected:
  LocalForgeTest() : git_(dir_ / "cache"), forge_(git_) {
    target_ = dir_ / "shop";
    WriteTestFile(target_, "cart.py", "total = 1\n");
    InitGitRepo(target_);
    auto mirror = git_.UpdateMirror(target_.string());
    EXPECT_TRUE(mirror.has_value());
    auto wt = git_.CreateWorktree(*mirror, dir_ / "job");
    EXPECT_TRUE(wt.has_value());
    wt_ = *wt;
  }

  PullRequestDraft Draft() const {
    PullRequestDraft draft;
    draft.repository = "shop";
    draft.target_location = target_.string();
    draft.target_is_local = true;
    draft.base_branch = "main";
    draft.head_branch = "drover/rename";
    draft.title = "Rename total";
    draft.body = "## Summary\n\nRenamed it.\n";
    draft.patch = "diff --git a/cart.py b/cart.py\n";
    draft.labels = {"drover", "migration"};
    draft.output_dir = dir_ / "job";
    return draft;
  }

  void CommitChange(const std::string& contents) {
    WriteTestFile(wt_.workspace, "cart.py", contents);
    ASSERT_OK(git_.Commit(wt_, "drover/rename", "Rename total", GitAuthor{}));
  }

  TempDir dir_;
  GitRepos git_;
  LocalForge forge_;
  fs::path target_;
  Worktree wt_;
};

TEST_F(LocalForgeTest, WritesFilesAndPushesTheBranch) {
  EXPECT_EQ(forge_.Name(), "local");
  CommitChange("sum = 1\n");
  auto pr = forge_.OpenOrUpdate(Draft(), wt_);
  ASSERT_OK(pr);
  EXPECT_FALSE(pr->updated);
  EXPECT_EQ(pr->url, (dir_ / "job" / "pr.md").string());
  EXPECT_FALSE(pr->id.empty());

  std::string md = ReadTestFile(dir_ / "job" / "pr.md");
  EXPECT_TRUE(md.starts_with("# Rename total\n")) << md;
  EXPECT_NE(md.find("Renamed it."), std::string::npos) << md;
  EXPECT_EQ(ReadTestFile(dir_ / "job" / "pr.patch"), "diff --git a/cart.py b/cart.py\n");
  Json json = ReadJson(dir_ / "job" / "pr.json");
  EXPECT_EQ(json["id"], pr->id);
  EXPECT_EQ(json["title"], "Rename total");
  EXPECT_EQ(json["base"], "main");
  EXPECT_EQ(json["head"], "drover/rename");
  EXPECT_EQ(json["repository"], "shop");
  EXPECT_EQ(json["labels"], Json::array({"drover", "migration"}));
  EXPECT_EQ(json["draft"], false);
  EXPECT_EQ(json["pushed"], true);
  EXPECT_EQ(json["created_at"], json["updated_at"]);
  EXPECT_EQ(json["created_at"].get<std::string>().size(), 20u);

  EXPECT_EQ(Sh("git -C '" + target_.string() + "' show drover/rename:cart.py"), "sum = 1\n");
  EXPECT_EQ(Sh("git -C '" + target_.string() + "' log --format=%s -1 drover/rename"),
            "Rename total\n");
}

TEST_F(LocalForgeTest, SecondCallUpdatesTheSamePr) {
  CommitChange("sum = 1\n");
  auto first = forge_.OpenOrUpdate(Draft(), wt_);
  ASSERT_OK(first);
  Json created = ReadJson(dir_ / "job" / "pr.json");

  CommitChange("sum = 2\n");
  PullRequestDraft draft = Draft();
  draft.title = "Rename total (take two)";
  auto second = forge_.OpenOrUpdate(draft, wt_);
  ASSERT_OK(second);
  EXPECT_TRUE(second->updated);
  EXPECT_EQ(second->id, first->id);
  Json updated = ReadJson(dir_ / "job" / "pr.json");
  EXPECT_EQ(updated["id"], created["id"]);
  EXPECT_EQ(updated["created_at"], created["created_at"]);
  EXPECT_EQ(updated["title"], "Rename total (take two)");
  EXPECT_TRUE(ReadTestFile(dir_ / "job" / "pr.md").starts_with("# Rename total (take two)\n"));
  EXPECT_EQ(Sh("git -C '" + target_.string() + "' show drover/rename:cart.py"), "sum = 2\n");
  EXPECT_EQ(Sh("git -C '" + target_.string() + "' branch --list 'drover/*'"), "  drover/rename\n");
  int prs = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "job")) {
    if (entry.path().filename().string().starts_with("pr")) ++prs;
  }
  EXPECT_EQ(prs, 3);  // pr.md, pr.patch, pr.json: nothing duplicated.
}

TEST_F(LocalForgeTest, RemoteTargetsAreNotPushed) {
  CommitChange("sum = 1\n");
  PullRequestDraft draft = Draft();
  draft.target_location = "https://git.example.com/org/shop.git";
  draft.target_is_local = false;
  auto pr = forge_.OpenOrUpdate(draft, wt_);
  ASSERT_OK(pr);
  EXPECT_NE(pr->url.find("not pushed"), std::string::npos) << pr->url;
  Json json = ReadJson(dir_ / "job" / "pr.json");
  EXPECT_EQ(json["pushed"], false);
  EXPECT_TRUE(fs::exists(dir_ / "job" / "pr.md"));
  EXPECT_TRUE(fs::exists(dir_ / "job" / "pr.patch"));
  EXPECT_EQ(Sh("git -C '" + target_.string() + "' branch --list 'drover/*'"), "");
}

TEST_F(LocalForgeTest, PushFailureIsAnErrorAndWritesNothing) {
  CommitChange("sum = 1\n");
  PullRequestDraft draft = Draft();
  draft.target_location = (dir_ / "gone").string();
  auto pr = forge_.OpenOrUpdate(draft, wt_);
  ASSERT_FALSE(pr.has_value());
  EXPECT_EQ(pr.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "job" / "pr.json"));
}

}  // namespace
}  // namespace drover::fleet
