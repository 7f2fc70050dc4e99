#include "forge/forges.h"

#include <gtest/gtest.h>

#include "forge/github_forge.h"
#include "tests/testing/fake_github.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::Sh;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

TEST(Forges, LocalNeedsNothingAndAcceptsEveryTarget) {
  auto forge = ResolveForge(ForgeSettings{}, std::nullopt, "", {});
  ASSERT_OK(forge);
  EXPECT_EQ(forge->kind, ForgeKind::kLocal);
  EXPECT_OK(CheckTargetOnForge(*forge, "/srv/repos/shop"));
  EXPECT_TRUE(GitCredentialsFor(*forge).empty());
}

TEST(Forges, GitHubTokenComesFromTheNamedVariable) {
  ForgeSettings settings{ForgeKind::kGitHub, "https://ghe.example.com/api/v3/", "GHE_TOKEN"};
  auto missing = ResolveForge(settings, std::nullopt, "", {{"GITHUB_TOKEN", "ghp_x"}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message.find("GHE_TOKEN is not set"), std::string::npos);

  auto forge = ResolveForge(settings, std::nullopt, "", {{"GHE_TOKEN", "ghp_secret"}});
  ASSERT_OK(forge);
  EXPECT_EQ(forge->host, "ghe.example.com");
  EXPECT_EQ(forge->api_url, "https://ghe.example.com/api/v3");
  auto credentials = GitCredentialsFor(*forge);
  ASSERT_EQ(credentials.size(), 1u);
  EXPECT_EQ(credentials[0].host, "ghe.example.com");
  EXPECT_EQ(credentials[0].username, "x-access-token");
  EXPECT_EQ(credentials[0].password, "ghp_secret");

  EXPECT_OK(CheckTargetOnForge(*forge, "https://ghe.example.com/acme/shop.git"));
  EXPECT_OK(CheckTargetOnForge(*forge, "git@GHE.example.com:acme/shop.git"));
  auto elsewhere = CheckTargetOnForge(*forge, "https://github.com/acme/shop.git");
  ASSERT_FALSE(elsewhere.has_value());
  EXPECT_EQ(elsewhere.error().message,
            "https://github.com/acme/shop.git is on github.com, not on ghe.example.com (the "
            "github forge's host)");
  EXPECT_FALSE(CheckTargetOnForge(*forge, "/srv/repos/shop").has_value());
}

TEST(Forges, CommandLineOverridesTheSpecAndPublicHostsAreTheDefault) {
  std::map<std::string, std::string> env = {{"GITHUB_TOKEN", "t1"}, {"GITLAB_TOKEN", "t2"}};
  auto github = ResolveForge(ForgeSettings{}, ForgeKind::kGitHub, "", env);
  ASSERT_OK(github);
  EXPECT_EQ(github->host, "github.com");
  EXPECT_EQ(github->token, "t1");
  auto api = ResolveForge(ForgeSettings{}, ForgeKind::kGitHub, "https://api.github.com", env);
  ASSERT_OK(api);
  EXPECT_EQ(api->host, "github.com");
  auto gitlab = ResolveForge(ForgeSettings{ForgeKind::kGitHub, "", ""}, ForgeKind::kGitLab,
                             "http://127.0.0.1:8080/api/v4", env);
  ASSERT_OK(gitlab);
  EXPECT_EQ(gitlab->host, "127.0.0.1");
  EXPECT_EQ(gitlab->token_env, "GITLAB_TOKEN");
  EXPECT_EQ(GitCredentialsFor(*gitlab)[0].username, "oauth2");
  auto local = ResolveForge(ForgeSettings{ForgeKind::kGitHub, "", ""}, ForgeKind::kLocal, "", {});
  ASSERT_OK(local);
  EXPECT_EQ(local->kind, ForgeKind::kLocal);
  EXPECT_FALSE(ResolveForge(ForgeSettings{}, ForgeKind::kGitLab, "gitlab.example.com", env));
}

TEST(Forges, PullRequestNumbers) {
  EXPECT_EQ(PullRequestNumber("acme/widgets#12"), 12);
  EXPECT_EQ(PullRequestNumber("group/sub/app!7"), 7);
  EXPECT_EQ(PullRequestNumber("local:shop:drover/x"), 0);
}

TEST(Forges, ReadsLocalAndGitHubPullRequestStates) {
  TempDir dir;
  WriteTestFile(dir / "target", "a.txt", "one\n");
  drover::testing::InitGitRepo(dir / "target");
  std::string git =
      "git -C '" + (dir / "target").string() + "' -c user.name=T -c user.email=t@example.com ";
  Sh(git + "checkout -q -b drover/x && echo two >> '" + (dir / "target/a.txt").string() + "' && " +
     git + "commit -qam two");
  std::string commit = Sh(git + "rev-parse HEAD");
  commit.pop_back();
  Sh(git + "checkout -q main");
  GitRepos repos(dir / "mirrors");
  auto http = MakeCurlHttpClient();
  ForgeGovernor governor;
  PullRequestRecord pr;
  pr.forge = "local";
  pr.location = (dir / "target").string();
  pr.head_branch = "drover/x";
  pr.head_commit = commit;
  auto open = ReadPullRequest(pr, repos, *http, governor, {});
  ASSERT_OK(open);
  EXPECT_EQ(open->state, PrState::kOpen);
  Sh(git + "merge -q --ff-only drover/x && " + git + "branch -q -d drover/x");
  auto merged = ReadPullRequest(pr, repos, *http, governor, {});
  ASSERT_OK(merged);
  EXPECT_EQ(merged->state, PrState::kMerged);  // Merged, even with its branch deleted.
  pr.head_commit = "0123456789012345678901234567890123456789";
  auto closed = ReadPullRequest(pr, repos, *http, governor, {});
  ASSERT_OK(closed);
  EXPECT_EQ(closed->state, PrState::kClosed);

  drover::testing::FakeGitHub github;
  ASSERT_OK(github.Start());
  PullRequestDraft draft;
  draft.target_location = "https://github.com/acme/widgets.git";
  draft.base_branch = "main";
  draft.head_branch = "drover/x";
  draft.title = "T";
  GitHubForgeOptions options;
  options.api_base_url = github.BaseUrl();
  options.token = "ghp_track";
  ASSERT_OK(GitHubForge(options, *http, governor).OpenOrUpdatePullRequest(draft));
  github.SetPullField(1, "state", "closed");
  github.SetPullField(1, "merged", true);
  github.SetPullField(1, "merged_at", "2026-11-23T12:00:00Z");
  github.SetChecks(
      {{"total_count", 1},
       {"check_runs", Json::array({{{"status", "completed"}, {"conclusion", "success"}}})}},
      {{"state", "success"}, {"statuses", Json::array()}});
  PullRequestRecord remote;
  remote.forge = "github";
  remote.api_url = github.BaseUrl();
  remote.token_env = "TRACK_TOKEN";
  remote.location = draft.target_location;
  remote.number = 1;
  auto no_token = ReadPullRequest(remote, repos, *http, governor, {});
  ASSERT_FALSE(no_token.has_value());
  EXPECT_NE(no_token.error().message.find("TRACK_TOKEN"), std::string::npos);
  auto state = ReadPullRequest(remote, repos, *http, governor, {{"TRACK_TOKEN", "ghp_track"}});
  ASSERT_OK(state);
  EXPECT_EQ(state->state, PrState::kMerged);
  EXPECT_EQ(state->checks, "success");
  EXPECT_EQ(github.Requests().back().headers.at("authorization"), "Bearer ghp_track");
}

}  // namespace
}  // namespace drover::fleet
