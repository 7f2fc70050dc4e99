#include "forge/gitlab_forge.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "core/http_server.h"
#include "tests/testing/fake_gitlab.h"
#include "tests/testing/fake_governor_clock.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::FakeGitLab;
using drover::testing::JsonResponse;
using drover::testing::Recorded;
using std::chrono::milliseconds;

constexpr char kToken[] = "glpat-testtoken0123456789";
constexpr char kTarget[] = "https://gitlab.example.com/acme/platform/widgets.git";
constexpr char kProject[] = "/projects/acme%2Fplatform%2Fwidgets";

PullRequestDraft MakeDraft() {
  PullRequestDraft draft;
  draft.repository = "acme/platform/widgets";
  draft.target_location = kTarget;
  draft.base_branch = "main";
  draft.head_branch = "drover/upgrade-logging";
  draft.title = "Upgrade logging";
  draft.body = "Moves to the new logger.";
  draft.labels = {"drover", "automated"};
  return draft;
}

class GitLabForgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(gitlab_.Start());
    GitLabForgeOptions options;
    options.api_base_url = gitlab_.BaseUrl() + "/api/v4";
    options.token = kToken;
    forge_ = std::make_unique<GitLabForge>(options, *http_, governor_);
  }

  FakeGitLab gitlab_;
  drover::testing::FakeGovernorClock clock_;
  ForgeGovernor governor_{ForgeGovernorOptions{}, clock_.Clock()};
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
  std::unique_ptr<GitLabForge> forge_;
};

TEST_F(GitLabForgeTest, OpensADraftMergeRequestThenUpdatesIt) {
  PullRequestDraft draft = MakeDraft();
  draft.draft = true;
  auto mr = forge_->OpenOrUpdateMergeRequest(draft);
  ASSERT_OK(mr);
  EXPECT_EQ(mr->id, "acme/platform/widgets!1");
  EXPECT_EQ(mr->url, "https://gitlab.example.com/acme/platform/widgets/-/merge_requests/1");
  EXPECT_FALSE(mr->updated);

  std::vector<Recorded> requests = gitlab_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path,
            std::string("/api/v4") + kProject +
                "/merge_requests?source_branch=drover%2Fupgrade-logging&state=opened");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, std::string("/api/v4") + kProject + "/merge_requests");
  for (const Recorded& request : requests) {
    EXPECT_EQ(request.headers.at("private-token"), kToken);
    EXPECT_EQ(request.headers.count("authorization"), 0u);
  }
  EXPECT_EQ(Json::parse(requests[1].body), (Json{{"source_branch", "drover/upgrade-logging"},
                                                 {"target_branch", "main"},
                                                 {"title", "Draft: Upgrade logging"},
                                                 {"description", "Moves to the new logger."},
                                                 {"labels", "drover,automated"}}));

  draft.title = "Upgrade logging (v2)";
  draft.draft = false;
  auto again = forge_->OpenOrUpdateMergeRequest(draft);
  ASSERT_OK(again);
  EXPECT_TRUE(again->updated);
  EXPECT_EQ(gitlab_.Count(), 1u);
  requests = gitlab_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[3].method, "PUT");
  EXPECT_EQ(requests[3].path, std::string("/api/v4") + kProject + "/merge_requests/1");
  EXPECT_EQ(gitlab_.Mr(1)["title"], "Upgrade logging (v2)");
}

TEST_F(GitLabForgeTest, ReadsStateAndPipeline) {
  ASSERT_OK(forge_->OpenOrUpdateMergeRequest(MakeDraft()));
  auto open = forge_->ReadState(kTarget, 1);
  ASSERT_OK(open);
  EXPECT_EQ(open->state, PullRequestState::State::kOpen);
  EXPECT_EQ(open->checks, CheckState::kNone);
  EXPECT_EQ(open->head_sha, "def456");

  gitlab_.Set(1, "head_pipeline", {{"status", "running"}});
  EXPECT_EQ(forge_->ReadState(kTarget, 1)->checks, CheckState::kPending);
  gitlab_.Set(1, "head_pipeline", {{"status", "failed"}});
  gitlab_.Set(1, "state", "closed");
  auto closed = forge_->ReadState(kTarget, 1);
  ASSERT_OK(closed);
  EXPECT_EQ(closed->state, PullRequestState::State::kClosed);
  EXPECT_EQ(closed->checks, CheckState::kFailure);
  gitlab_.Set(1, "head_pipeline", {{"status", "success"}});
  gitlab_.Set(1, "state", "merged");
  gitlab_.Set(1, "merged_at", "2026-01-02T03:04:05Z");
  auto merged = forge_->ReadState(kTarget, 1);
  ASSERT_OK(merged);
  EXPECT_EQ(merged->state, PullRequestState::State::kMerged);
  EXPECT_EQ(merged->merged_at, "2026-01-02T03:04:05Z");
  EXPECT_EQ(merged->checks, CheckState::kSuccess);
}

TEST_F(GitLabForgeTest, MapsErrorsAndWaitsOutTooManyRequests) {
  int status = 401;
  gitlab_.SetOverride([&status](const Recorded&) -> std::optional<HttpResponse> {
    if (status == 409) {
      return JsonResponse(409, {{"message", {"Another open merge request already exists"}}});
    }
    if (status == 429) {
      status = 0;
      return JsonResponse(429, {{"message", "Retry later"}}, {{"retry-after", "3"}});
    }
    if (status == 0) return std::nullopt;
    return JsonResponse(status, {{"message", "401 Unauthorized"}});
  });
  auto denied = forge_->OpenOrUpdateMergeRequest(MakeDraft());
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error().message.find(kToken), std::string::npos);

  status = 409;
  auto conflict = forge_->OpenOrUpdateMergeRequest(MakeDraft());
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(conflict.error().message.find("Another open merge request already exists"),
            std::string::npos);

  status = 429;
  auto retried = forge_->OpenOrUpdateMergeRequest(MakeDraft());
  ASSERT_OK(retried);
  EXPECT_EQ(clock_.sleeps, std::vector<milliseconds>{milliseconds(3000)});
}

TEST_F(GitLabForgeTest, AsksCodeOwnersUsersForReviewAndKeepsReviewersAlreadyThere) {
  drover::testing::TempDir tmp;
  Worktree wt;
  wt.workspace = tmp.path();
  // GitLab's first place wins; sections each give their last match; groups cannot review.
  drover::testing::WriteTestFile(tmp.path(), "CODEOWNERS",
                                 "*.py @alice\n"
                                 "[Database][2] @dba-lead\n"
                                 "db/\n"
                                 "^[Docs]\n"
                                 "*.md @acme/writers @ghost\n");
  drover::testing::WriteTestFile(tmp.path(), ".gitlab/CODEOWNERS", "* @not-this-file\n");
  gitlab_.AddUser("alice", 11);
  gitlab_.AddUser("dba-lead", 12);
  PullRequestDraft draft = MakeDraft();
  draft.patch =
      "diff --git a/app/main.py b/app/main.py\n--- a/app/main.py\n+++ b/app/main.py\n"
      "@@ -1 +1 @@\n-a\n+b\n"
      "diff --git a/db/schema.sql b/db/schema.sql\n--- a/db/schema.sql\n+++ b/db/schema.sql\n"
      "@@ -1 +1 @@\n-a\n+b\n"
      "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n"
      "@@ -1 +1 @@\n-a\n+b\n";
  ASSERT_OK(forge_->OpenOrUpdate(draft, wt));
  std::vector<Recorded> requests = gitlab_.Requests();
  std::vector<std::string> looked_up;
  for (const Recorded& request : requests) {
    if (request.path.starts_with("/api/v4/users")) looked_up.push_back(request.path);
  }
  EXPECT_EQ(looked_up, (std::vector<std::string>{"/api/v4/users?username=alice",
                                                 "/api/v4/users?username=dba-lead",
                                                 "/api/v4/users?username=ghost"}));
  ASSERT_EQ(requests.back().method, "POST");
  EXPECT_EQ(Json::parse(requests.back().body)["reviewer_ids"], Json({11, 12}));

  // A reviewer the team added stays; the users are not looked up again.
  gitlab_.Set(1, "reviewers", Json::array({{{"id", 99}}}));
  ASSERT_OK(forge_->OpenOrUpdate(draft, wt));
  requests = gitlab_.Requests();
  ASSERT_EQ(requests.back().method, "PUT");
  EXPECT_EQ(Json::parse(requests.back().body)["reviewer_ids"], Json({99, 11, 12}));
  size_t lookups = 0;
  for (const Recorded& request : requests) lookups += request.path.starts_with("/api/v4/users");
  EXPECT_EQ(lookups, 3u);

  // Nothing new to ask for: the reviewer list is left alone.
  ASSERT_OK(forge_->OpenOrUpdate(draft, wt));
  EXPECT_FALSE(Json::parse(gitlab_.Requests().back().body).contains("reviewer_ids"));
}

// forge.push_to: fork. The fork is made in the token user's namespace, the merge request is
// opened on the fork into the target (target_project_id), and found again by its source.
TEST_F(GitLabForgeTest, PushToForkOpensTheMergeRequestFromTheFork) {
  GitLabForgeOptions options;
  options.api_base_url = gitlab_.BaseUrl() + "/api/v4";
  options.token = kToken;
  options.push_to_fork = true;
  options.request_codeowners = false;
  GitLabForge forge(options, *http_, governor_);
  std::vector<std::string> forked;
  gitlab_.SetForkHook([&](const std::string& path) { forked.push_back(path); });
  // An open MR from the target's own branch of that name is someone else's: not updated.
  gitlab_.Set(1, "source_branch", "drover/upgrade-logging");
  gitlab_.Set(1, "state", "opened");
  gitlab_.Set(1, "iid", 1);
  gitlab_.Set(1, "source_project_id", 1);
  auto location = forge.PushLocation(MakeDraft());
  ASSERT_OK(location);
  EXPECT_EQ(*location, "https://gitlab.example.com/drover-bot/widgets.git");
  EXPECT_EQ(forked, std::vector<std::string>{"drover-bot/widgets"});
  auto mr = forge.OpenOrUpdateMergeRequest(MakeDraft());
  ASSERT_OK(mr);
  EXPECT_FALSE(mr->updated);
  EXPECT_EQ(mr->id, "acme/platform/widgets!2");
  Json opened = gitlab_.Mr(2);
  EXPECT_EQ(opened["source_project_id"], 2);
  EXPECT_EQ(opened["target_project_id"], 1);
  EXPECT_EQ(opened["source_branch"], "drover/upgrade-logging");
  bool on_fork = false;
  for (const auto& request : gitlab_.Requests()) {
    on_fork = on_fork ||
              (request.method == "POST" && request.path == "/api/v4/projects/2/merge_requests");
  }
  EXPECT_TRUE(on_fork);

  // Again (a later run): the fork is found, and the fork's MR is the one updated.
  GitLabForge later(options, *http_, governor_);
  auto again = later.OpenOrUpdateMergeRequest(MakeDraft());
  ASSERT_OK(again);
  EXPECT_TRUE(again->updated);
  EXPECT_EQ(again->id, "acme/platform/widgets!2");
  EXPECT_EQ(gitlab_.Count(), 2u);
  EXPECT_EQ(forked.size(), 1u);

  // A project at the fork's path that is not a fork of the target is refused.
  options.fork_owner = "mallory";
  gitlab_.AddProject("mallory/widgets", {{"id", 40}, {"path_with_namespace", "mallory/widgets"}});
  GitLabForge other(options, *http_, governor_);
  auto refused = other.PushLocation(MakeDraft());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("is not a fork of acme/platform/widgets"),
            std::string::npos)
      << refused.error().message;
}

TEST(GitLabLocation, ParsesNestedGroupsOverHttpsAndSsh) {
  auto https = ParseGitLabLocation("https://gitlab.com/a/b/c.git");
  ASSERT_OK(https);
  EXPECT_EQ(https->host, "gitlab.com");
  EXPECT_EQ(https->path, "a/b/c");
  auto scp = ParseGitLabLocation("git@gitlab.example.com:group/project.git");
  ASSERT_OK(scp);
  EXPECT_EQ(scp->host, "gitlab.example.com");
  EXPECT_EQ(scp->path, "group/project");
  auto ssh = ParseGitLabLocation("ssh://git@gitlab.example.com:2222/group/project");
  ASSERT_OK(ssh);
  EXPECT_EQ(ssh->host, "gitlab.example.com");
  EXPECT_EQ(ssh->path, "group/project");
  EXPECT_FALSE(ParseGitLabLocation("https://gitlab.com/project"));
  EXPECT_FALSE(ParseGitLabLocation("/srv/git/project"));
}

}  // namespace
}  // namespace drover::fleet
