#include "forge/github_forge.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "core/fs.h"
#include "core/http_server.h"
#include "forge/forge_governor.h"
#include "tests/testing/fake_github.h"
#include "tests/testing/fake_governor_clock.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::FakeGitHub;
using drover::testing::JsonResponse;
using drover::testing::Recorded;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kToken[] = "ghp_testtoken0123456789abcdef";
constexpr char kTarget[] = "https://github.com/acme/widgets.git";

using FakeClock = drover::testing::FakeGovernorClock;

PullRequestDraft MakeDraft() {
  PullRequestDraft draft;
  draft.repository = "acme/widgets";
  draft.target_location = kTarget;
  draft.base_branch = "main";
  draft.head_branch = "drover/upgrade-logging";
  draft.title = "Upgrade logging";
  draft.body = "Moves to the new logger.";
  draft.labels = {"drover", "automated"};
  return draft;
}

class GitHubForgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(github_.Start());
    GitHubForgeOptions options;
    options.api_base_url = github_.BaseUrl();
    options.token = kToken;
    forge_ = std::make_unique<GitHubForge>(options, *http_, governor_);
  }

  FakeGitHub github_;
  FakeClock clock_;
  ForgeGovernor governor_{ForgeGovernorOptions{}, clock_.Clock()};
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
  std::unique_ptr<GitHubForge> forge_;
};

TEST_F(GitHubForgeTest, CreatesPullRequestWithHeadersBodyLabelsAndReviewers) {
  PullRequestDraft draft = MakeDraft();
  draft.draft = true;
  ReviewerRequest reviewers{{"alice", "drover-bot"}, {"platform"}};
  auto pr = forge_->OpenOrUpdatePullRequest(draft, reviewers);
  ASSERT_OK(pr);
  EXPECT_EQ(pr->id, "acme/widgets#1");
  EXPECT_EQ(pr->url, "https://github.com/acme/widgets/pull/1");
  EXPECT_FALSE(pr->updated);

  std::vector<Recorded> requests = github_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path,
            "/repos/acme/widgets/pulls?head=acme:drover/upgrade-logging&state=open");
  for (const Recorded& request : requests) {
    EXPECT_EQ(request.headers.at("accept"), "application/vnd.github+json");
    EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + kToken);
    EXPECT_EQ(request.headers.at("x-github-api-version"), "2022-11-28");
    EXPECT_FALSE(request.headers.at("user-agent").empty());
  }

  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].path, "/repos/acme/widgets/pulls");
  EXPECT_EQ(requests[1].headers.at("content-type"), "application/json");
  Json create = Json::parse(requests[1].body);
  EXPECT_EQ(create, (Json{{"title", "Upgrade logging"},
                          {"head", "drover/upgrade-logging"},
                          {"base", "main"},
                          {"body", "Moves to the new logger."},
                          {"draft", true}}));

  EXPECT_EQ(requests[2].method, "POST");
  EXPECT_EQ(requests[2].path, "/repos/acme/widgets/issues/1/labels");
  EXPECT_EQ(Json::parse(requests[2].body), (Json{{"labels", {"drover", "automated"}}}));

  EXPECT_EQ(requests[3].method, "POST");
  EXPECT_EQ(requests[3].path, "/repos/acme/widgets/pulls/1/requested_reviewers");
  // The author (drover-bot) is dropped: GitHub refuses to request the author's own review.
  EXPECT_EQ(Json::parse(requests[3].body),
            (Json{{"reviewers", {"alice"}}, {"team_reviewers", {"platform"}}}));
  EXPECT_EQ(github_.Pull(1)["draft"], true);
}

TEST_F(GitHubForgeTest, ReviewersGitHubRefusesDoNotFailThePublish) {
  github_.SetOverride([](const Recorded& request) -> std::optional<HttpResponse> {
    if (!request.path.ends_with("/requested_reviewers")) return std::nullopt;
    return JsonResponse(422, {{"message",
                               "Reviews may only be requested from collaborators. One "
                               "or more of the users or teams you specified is not a "
                               "collaborator of the acme/widgets repository."}});
  });
  auto pr = forge_->OpenOrUpdatePullRequest(MakeDraft(), {{"outsider"}, {}});
  ASSERT_OK(pr);
  EXPECT_EQ(pr->id, "acme/widgets#1");
  EXPECT_EQ(github_.Requests().back().path, "/repos/acme/widgets/pulls/1/requested_reviewers");
}

TEST_F(GitHubForgeTest, SecondRunUpdatesTheOpenPullRequestInsteadOfOpeningAnother) {
  PullRequestDraft draft = MakeDraft();
  draft.labels.clear();
  ASSERT_OK(forge_->OpenOrUpdatePullRequest(draft));
  draft.title = "Upgrade logging (v2)";
  draft.body = "Second attempt.";
  auto again = forge_->OpenOrUpdatePullRequest(draft);
  ASSERT_OK(again);
  EXPECT_TRUE(again->updated);
  EXPECT_EQ(again->id, "acme/widgets#1");
  EXPECT_EQ(github_.PullCount(), 1u);
  EXPECT_EQ(github_.Pull(1)["title"], "Upgrade logging (v2)");
  EXPECT_EQ(github_.Pull(1)["body"], "Second attempt.");

  std::vector<Recorded> requests = github_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[3].method, "PATCH");
  EXPECT_EQ(requests[3].path, "/repos/acme/widgets/pulls/1");
  EXPECT_EQ(Json::parse(requests[3].body),
            (Json{{"title", "Upgrade logging (v2)"}, {"body", "Second attempt."}}));
}

TEST_F(GitHubForgeTest, OpenOrUpdateRequestsReviewersFromTheWorktreeCodeOwners) {
  TempDir dir;
  WriteTestFile(dir.path(), ".github/CODEOWNERS",
                "# owners\n*       @acme/everyone\n*.go    @alice bob@example.com\n"
                "/docs/  @acme/docs @other-org/writers\n");
  Worktree wt;
  wt.workspace = dir.path();
  PullRequestDraft draft = MakeDraft();
  draft.labels.clear();
  draft.patch =
      "diff --git a/cmd/main.go b/cmd/main.go\n--- a/cmd/main.go\n+++ b/cmd/main.go\n@@ -1 +1 @@\n"
      "diff --git a/docs/guide.md b/docs/guide.md\n";
  ASSERT_OK(forge_->OpenOrUpdate(draft, wt));
  std::vector<Recorded> requests = github_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].path, "/repos/acme/widgets/pulls/1/requested_reviewers");
  // Teams of another organisation cannot be requested on acme's repository.
  EXPECT_EQ(Json::parse(requests[2].body),
            (Json{{"reviewers", {"alice"}}, {"team_reviewers", {"docs"}}}));
}

TEST_F(GitHubForgeTest, CodeOwnersGivenWithTheDraftWinOverTheWorktrees) {
  TempDir dir;
  WriteTestFile(dir.path(), "CODEOWNERS", "* @mallory\n");  // As an agent might have edited it.
  Worktree wt;
  wt.workspace = dir.path();
  PullRequestDraft draft = MakeDraft();
  draft.labels.clear();
  draft.patch = "diff --git a/main.go b/main.go\n";
  draft.codeowners = "*.go @alice\n";
  ASSERT_OK(forge_->OpenOrUpdate(draft, wt));
  std::vector<Recorded> requests = github_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Json::parse(requests[2].body),
            (Json{{"reviewers", {"alice"}}, {"team_reviewers", Json::array()}}));
  // A tree without CODEOWNERS: nobody is requested, whatever the worktree says now.
  draft.codeowners = "";
  ASSERT_OK(forge_->OpenOrUpdate(draft, wt));
  EXPECT_EQ(github_.Requests().size(), 5u);  // Look-up and update only.
}

TEST_F(GitHubForgeTest, ReadsOpenMergedAndClosedStateWithChecks) {
  ASSERT_OK(forge_->OpenOrUpdatePullRequest(MakeDraft()));
  github_.SetChecks(
      {{"total_count", 2},
       {"check_runs",
        {{{"status", "completed"}, {"conclusion", "success"}},
         {{"status", "in_progress"}, {"conclusion", nullptr}}}}},
      {{"state", "success"}, {"statuses", {{{"state", "success"}, {"context", "ci"}}}}});
  auto open = forge_->ReadState(kTarget, 1);
  ASSERT_OK(open);
  EXPECT_EQ(open->state, PullRequestState::State::kOpen);
  EXPECT_EQ(open->head_sha, "abc123");
  EXPECT_EQ(open->checks, CheckState::kPending);
  EXPECT_EQ(open->url, "https://github.com/acme/widgets/pull/1");
  std::vector<Recorded> requests = github_.Requests();
  EXPECT_EQ(requests[requests.size() - 2].path,
            "/repos/acme/widgets/commits/abc123/check-runs?per_page=100");
  EXPECT_EQ(requests.back().path, "/repos/acme/widgets/commits/abc123/status");

  github_.SetChecks(
      {{"total_count", 1}, {"check_runs", {{{"status", "completed"}, {"conclusion", "success"}}}}},
      {{"state", "pending"}, {"statuses", Json::array()}});
  github_.SetPullField(1, "state", "closed");
  github_.SetPullField(1, "merged", true);
  github_.SetPullField(1, "merged_at", "2026-01-02T03:04:05Z");
  auto merged = forge_->ReadState(kTarget, 1);
  ASSERT_OK(merged);
  EXPECT_EQ(merged->state, PullRequestState::State::kMerged);
  EXPECT_EQ(merged->merged_at, "2026-01-02T03:04:05Z");
  EXPECT_EQ(merged->checks, CheckState::kSuccess);

  github_.SetChecks({{"total_count", 0}, {"check_runs", Json::array()}},
                    {{"state", "failure"}, {"statuses", {{{"state", "failure"}}}}});
  github_.SetPullField(1, "merged", false);
  github_.SetPullField(1, "merged_at", nullptr);
  auto closed = forge_->ReadState(kTarget, 1);
  ASSERT_OK(closed);
  EXPECT_EQ(closed->state, PullRequestState::State::kClosed);
  EXPECT_FALSE(closed->merged_at.has_value());
  EXPECT_EQ(closed->checks, CheckState::kFailure);

  github_.SetChecks({{"total_count", 0}, {"check_runs", Json::array()}},
                    {{"state", "pending"}, {"statuses", Json::array()}});
  auto bare = forge_->ReadState(kTarget, 1);
  ASSERT_OK(bare);
  EXPECT_EQ(bare->checks, CheckState::kNone);
}

TEST_F(GitHubForgeTest, MapsUnauthorizedToPermissionDeniedWithoutTheToken) {
  github_.SetOverride([](const Recorded& request) -> std::optional<HttpResponse> {
    // Echo the credential back, as a careless proxy might, to prove it is redacted.
    return JsonResponse(
        401, {{"message", "Bad credentials for " + request.headers.at("authorization")}});
  });
  auto pr = forge_->OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_FALSE(pr);
  EXPECT_EQ(pr.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(pr.error().message.find("Bad credentials"), std::string::npos) << pr.error().message;
  EXPECT_EQ(pr.error().message.find(kToken), std::string::npos) << pr.error().message;
}

TEST_F(GitHubForgeTest, MapsForbiddenNotFoundAndValidationErrors) {
  int status = 403;
  github_.SetOverride([&status](const Recorded&) -> std::optional<HttpResponse> {
    if (status == 422) {
      return JsonResponse(
          422, {{"message", "Validation Failed"},
                {"errors",
                 {{{"resource", "PullRequest"},
                   {"code", "custom"},
                   {"message", "No commits between main and drover/x"}},
                  {{"resource", "PullRequest"}, {"field", "base"}, {"code", "invalid"}}}}});
    }
    return JsonResponse(
        status,
        {{"message", status == 403 ? "Resource not accessible by integration" : "Not Found"}});
  });
  auto forbidden = forge_->OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(forbidden.error().message.find("Resource not accessible"), std::string::npos);

  status = 404;
  auto missing = forge_->ReadState(kTarget, 7);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  status = 422;
  auto invalid = forge_->OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(
      invalid.error().message.find(
          "Validation Failed (No commits between main and drover/x; PullRequest base invalid)"),
      std::string::npos)
      << invalid.error().message;
}

TEST_F(GitHubForgeTest, PrimaryRateLimitCarriesTheResetDelay) {
  long long reset = clock_.WallEpoch() + 3600;
  github_.SetOverride([reset](const Recorded&) -> std::optional<HttpResponse> {
    return JsonResponse(403, {{"message", "API rate limit exceeded for user ID 1."}},
                        {{"x-ratelimit-limit", "5000"},
                         {"x-ratelimit-remaining", "0"},
                         {"x-ratelimit-reset", std::to_string(reset)}});
  });
  auto pr = forge_->OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_FALSE(pr);
  EXPECT_EQ(pr.error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(IsRetryable(pr.error()));
  ASSERT_TRUE(pr.error().retry_after.has_value());
  EXPECT_EQ(*pr.error().retry_after, milliseconds(3601000));
  // An hour is longer than the forge waits on a job's thread: one request, no sleeping.
  EXPECT_EQ(github_.Requests().size(), 1u);
  EXPECT_TRUE(clock_.sleeps.empty());
  // Everyone sharing the governor is paused until the reset.
  EXPECT_EQ(governor_.PauseRemaining(), milliseconds(3601000));
}

TEST_F(GitHubForgeTest, TooManyRequestsWithRetryAfterIsWaitedOutThenSucceeds) {
  int failures = 2;
  github_.SetOverride([&failures](const Recorded& request) -> std::optional<HttpResponse> {
    if (request.method == "POST" && failures > 0) {
      --failures;
      return JsonResponse(429, {{"message", "You have exceeded a secondary rate limit."}},
                          {{"retry-after", "7"}});
    }
    return std::nullopt;
  });
  PullRequestDraft draft = MakeDraft();
  draft.labels.clear();
  auto pr = forge_->OpenOrUpdatePullRequest(draft);
  ASSERT_OK(pr);
  EXPECT_EQ(pr->id, "acme/widgets#1");
  EXPECT_EQ(github_.PullCount(), 1u);
  EXPECT_EQ(clock_.sleeps, (std::vector<milliseconds>{milliseconds(7000), milliseconds(7000)}));
}

TEST_F(GitHubForgeTest, SecondaryLimitWithoutHeadersBacksOffAMinuteAndGivesUpAfterMaxAttempts) {
  github_.SetOverride([](const Recorded&) -> std::optional<HttpResponse> {
    return JsonResponse(403, {{"message", "You have exceeded a secondary rate limit."}});
  });
  auto pr = forge_->OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_FALSE(pr);
  EXPECT_EQ(pr.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(pr.error().retry_after, milliseconds(60000));
  EXPECT_EQ(github_.Requests().size(), 3u);  // max_attempts.
  EXPECT_EQ(clock_.sleeps.size(), 2u);
}

// forge.push_to: fork. The branch goes to the token user's fork (made on first use), the PR is
// opened on the target from drover-bot:branch, and a second publish finds it by that head.
TEST_F(GitHubForgeTest, PushToForkMakesTheForkAndOpensThePrFromIt) {
  GitHubForgeOptions options;
  options.api_base_url = github_.BaseUrl();
  options.token = kToken;
  options.push_to_fork = true;
  GitHubForge forge(options, *http_, governor_);
  std::vector<std::string> forked;
  github_.SetForkHook([&](const std::string& owner, const std::string& name) {
    forked.push_back(owner + "/" + name);
  });
  auto location = forge.PushLocation(MakeDraft());
  ASSERT_OK(location);
  EXPECT_EQ(*location, "https://github.com/drover-bot/widgets.git");
  EXPECT_EQ(forked, std::vector<std::string>{"drover-bot/widgets"});

  auto pr = forge.OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_OK(pr);
  Json opened = github_.Pull(1);
  EXPECT_EQ(opened["head"]["label"], "drover-bot:drover/upgrade-logging");
  EXPECT_EQ(opened["head"]["ref"], "drover/upgrade-logging");
  EXPECT_EQ(opened["base"]["ref"], "main");
  EXPECT_EQ(pr->id, "acme/widgets#1");

  // A new forge (a later run): the fork is found, not made again; the PR is updated.
  GitHubForge later(options, *http_, governor_);
  ASSERT_OK(later.PushLocation(MakeDraft()));
  auto again = later.OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_OK(again);
  EXPECT_TRUE(again->updated);
  EXPECT_EQ(github_.PullCount(), 1u);
  EXPECT_EQ(forked.size(), 1u);
  int fork_posts = 0;
  for (const auto& request : github_.Requests()) {
    fork_posts += request.method == "POST" && request.path == "/repos/acme/widgets/forks";
  }
  EXPECT_EQ(fork_posts, 1);
}

TEST_F(GitHubForgeTest, PushToForkOfAnOrganisationAsksForItAndRefusesANonFork) {
  GitHubForgeOptions options;
  options.api_base_url = github_.BaseUrl();
  options.token = kToken;
  options.push_to_fork = true;
  options.fork_owner = "acme-bots";
  GitHubForge forge(options, *http_, governor_);
  auto location = forge.PushLocation(MakeDraft());
  ASSERT_OK(location);
  EXPECT_EQ(*location, "https://github.com/acme-bots/widgets.git");
  bool asked = false;
  for (const auto& request : github_.Requests()) {
    if (request.method == "POST" && request.path == "/repos/acme/widgets/forks") {
      asked = Json::parse(request.body)["organization"] == "acme-bots";
    }
  }
  EXPECT_TRUE(asked);

  // A repository with the fork's name that is not a fork of the target gets nothing.
  options.fork_owner = "mallory";
  github_.AddRepository("mallory/widgets",
                        {{"full_name", "mallory/widgets"}, {"name", "widgets"}, {"fork", false}});
  GitHubForge other(options, *http_, governor_);
  auto refused = other.PushLocation(MakeDraft());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(
      refused.error().message.find("mallory/widgets exists and is not a fork of acme/widgets"),
      std::string::npos)
      << refused.error().message;
  auto no_pr = other.OpenOrUpdatePullRequest(MakeDraft());
  EXPECT_FALSE(no_pr.has_value());
  EXPECT_EQ(github_.PullCount(), 0u);
}

TEST(ForkLocation, ReplacesTheRepositoryPathKeepingSchemeHostPortAndSuffix) {
  auto https =
      ReplaceRepositoryPath("https://github.com/acme/widgets.git", "acme/widgets", "bot/widgets");
  ASSERT_OK(https);
  EXPECT_EQ(*https, "https://github.com/bot/widgets.git");
  auto local = ReplaceRepositoryPath("http://127.0.0.1:8080/acme/platform/widgets/",
                                     "acme/platform/widgets", "bot/widgets");
  ASSERT_OK(local);
  EXPECT_EQ(*local, "http://127.0.0.1:8080/bot/widgets");
  auto scp = ReplaceRepositoryPath("git@github.com:acme/widgets.git", "acme/widgets", "b/w");
  ASSERT_OK(scp);
  EXPECT_EQ(*scp, "git@github.com:b/w.git");
  EXPECT_FALSE(ReplaceRepositoryPath("https://github.com/xacme/widgets", "acme/widgets", "b/w"));
  EXPECT_FALSE(ReplaceRepositoryPath("https://github.com/other/repo", "acme/widgets", "b/w"));
}

TEST(GitHubLocation, ParsesHttpsSshAndEnterpriseForms) {
  auto https = ParseGitHubLocation("https://github.com/acme/widgets.git");
  ASSERT_OK(https);
  EXPECT_EQ(https->host, "github.com");
  EXPECT_EQ(https->owner, "acme");
  EXPECT_EQ(https->repo, "widgets");
  auto plain = ParseGitHubLocation("https://github.com/acme/widgets/");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->repo, "widgets");
  auto scp = ParseGitHubLocation("git@github.com:acme/widgets.git");
  ASSERT_OK(scp);
  EXPECT_EQ(scp->owner, "acme");
  EXPECT_EQ(scp->repo, "widgets");
  auto ssh = ParseGitHubLocation("ssh://git@ghe.example.com:2222/team/tool.git");
  ASSERT_OK(ssh);
  EXPECT_EQ(ssh->host, "ghe.example.com");
  EXPECT_EQ(ssh->owner, "team");
  EXPECT_EQ(ssh->repo, "tool");
  EXPECT_FALSE(ParseGitHubLocation("/srv/git/widgets"));
  EXPECT_FALSE(ParseGitHubLocation("https://github.com/acme"));
  EXPECT_EQ(ParseGitHubLocation("widgets").error().code, ErrorCode::kInvalidArgument);
}

TEST(GitHubLocation, EnterpriseHostsUseTheirOwnApiRoot) {
  FakeClock clock;
  ForgeGovernor governor({}, clock.Clock());
  std::vector<std::string> urls;
  struct RecordingClient : HttpClient {
    std::vector<std::string>* urls;
    Result<HttpResponse> Send(const HttpRequest& request) override {
      urls->push_back(request.url);
      return JsonResponse(404, {{"message", "Not Found"}});
    }
  } client;
  client.urls = &urls;
  GitHubForge forge({.token = kToken}, client, governor);
  EXPECT_FALSE(forge.ReadState("https://ghe.example.com/team/tool", 3));
  EXPECT_FALSE(forge.ReadState("git@github.com:acme/widgets.git", 3));
  EXPECT_EQ(urls,
            (std::vector<std::string>{"https://ghe.example.com/api/v3/repos/team/tool/pulls/3",
                                      "https://api.github.com/repos/acme/widgets/pulls/3"}));
}

// The examples of GitHub's CODEOWNERS documentation.
TEST(CodeOwners, LastMatchingPatternWinsWithGitignoreStylePatterns) {
  const std::string codeowners = R"(# Default owners
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com @docs-star
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
)";
  auto owners = [&](std::string path) { return OwnersFor(codeowners, {path}); };
  using V = std::vector<std::string>;
  EXPECT_EQ(owners("README.md"), (V{"global-owner1", "global-owner2"}));
  EXPECT_EQ(owners("src/app.js"), (V{"js-owner"}));
  EXPECT_EQ(owners("main.go"), V{});  // Only an e-mail owner: nobody the API can request.
  EXPECT_EQ(owners("notes/a.txt"), (V{"octo-org/octocats"}));
  EXPECT_EQ(owners("build/logs/x.log"), (V{"octocat"}));  // `**/logs` comes later.
  EXPECT_EQ(owners("deep/down/logs/y"), (V{"octocat"}));
  EXPECT_EQ(owners("docs/getting-started.md"), (V{"doctocat"}));
  EXPECT_EQ(owners("scripts/run.sh"), (V{"doctocat", "octocat"}));
  EXPECT_EQ(owners("web/apps/main.rb"), (V{"octocat"}));  // `apps/` anywhere.
  EXPECT_EQ(owners("apps/github/x.rb"), V{});             // A later pattern with no owners.
  EXPECT_EQ(owners("apps/other/x.rb"), (V{"octocat"}));
  EXPECT_EQ(OwnersFor(codeowners, {"a.js", "b.txt", "c.js"}), (V{"js-owner", "octo-org/octocats"}));
}

TEST(CodeOwners, GitLabSectionsEachGiveTheirLastMatchAndDefaultOwners) {
  const char* codeowners = R"(* @everyone
[Backend] @backend-lead
*.go
internal/ @core-team
^[Docs][2] @acme/docs
*.md
README.md @readme-owner
)";
  auto owners = [&](std::string path) { return OwnersFor(codeowners, {path}); };
  using V = std::vector<std::string>;
  EXPECT_EQ(owners("main.go"), (V{"everyone", "backend-lead"}));
  EXPECT_EQ(owners("internal/x.go"), (V{"everyone", "core-team"}));
  EXPECT_EQ(owners("guide.md"), (V{"everyone", "acme/docs"}));
  EXPECT_EQ(owners("README.md"), (V{"everyone", "readme-owner"}));
  EXPECT_EQ(owners("Makefile"), (V{"everyone"}));
}

TEST(CodeOwners, StarSlashOwnsDirectFilesOnlyAndDoubleStarCrossesDirectories) {
  using V = std::vector<std::string>;
  EXPECT_EQ(OwnersFor("docs/*  @star\n", {"docs/a.md"}), (V{"star"}));
  EXPECT_EQ(OwnersFor("docs/*  @star\n", {"docs/build-app/troubleshooting.md"}), V{});
  EXPECT_EQ(OwnersFor("apps/**  @deep\n", {"apps/a/b/c.txt"}), (V{"deep"}));
  EXPECT_EQ(OwnersFor("apps/**  @deep\n", {"other/apps/c.txt"}), V{});  // Anchored.
  EXPECT_EQ(OwnersFor("a/**/b.txt @x\n", {"a/b.txt"}), (V{"x"}));
  EXPECT_EQ(OwnersFor("/Makefile @root\n", {"Makefile"}), (V{"root"}));
  EXPECT_EQ(OwnersFor("/Makefile @root\n", {"sub/Makefile"}), V{});
  EXPECT_EQ(OwnersFor("!*.md @nobody\n[ab].txt @nobody\n", {"x.md", "a.txt"}), V{});
}

TEST(CodeOwners, ChangedPathsComeFromTheDiffHeaders) {
  std::string patch =
      "diff --git a/src/a.cc b/src/a.cc\nindex 1..2 100644\n--- a/src/a.cc\n+++ b/src/a.cc\n"
      "diff --git a/old.txt b/new.txt\nsimilarity index 100%\n"
      "diff --git a/img.png b/img.png\nBinary files differ\n";
  EXPECT_EQ(ChangedPathsOfPatch(patch),
            (std::vector<std::string>{"src/a.cc", "new.txt", "old.txt", "img.png"}));
}

TEST(ForgeGovernor, EightyContentRequestsPerMinute) {
  FakeClock clock;
  ForgeGovernor governor({}, clock.Clock());
  for (int i = 0; i < 80; ++i) ASSERT_EQ(governor.TryAcquire(true), milliseconds(0)) << i;
  EXPECT_EQ(governor.TryAcquire(true), milliseconds(60000));
  EXPECT_EQ(governor.TryAcquire(false), milliseconds(0));  // Reads are not content.
  clock.Advance(milliseconds(59999));
  EXPECT_EQ(governor.TryAcquire(true), milliseconds(1));
  clock.Advance(milliseconds(1));
  EXPECT_EQ(governor.TryAcquire(true), milliseconds(0));
}

TEST(ForgeGovernor, FiveHundredContentRequestsPerHour) {
  FakeClock clock;
  ForgeGovernor governor({}, clock.Clock());
  for (int i = 0; i < 500; ++i) governor.Acquire(true);
  // 80 a minute: 480 in the first six minutes, the last 20 at minute six.
  EXPECT_EQ(clock.now - std::chrono::steady_clock::time_point(std::chrono::hours(1000)),
            std::chrono::minutes(6));
  EXPECT_EQ(governor.TryAcquire(true), milliseconds(std::chrono::minutes(54)));
  governor.Acquire(true);
  EXPECT_EQ(clock.sleeps.back(), milliseconds(std::chrono::minutes(54)));
}

TEST(ForgeGovernor, FiveThousandRequestsPerHour) {
  FakeClock clock;
  ForgeGovernor governor({}, clock.Clock());
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(governor.TryAcquire(false), milliseconds(0)) << i;
  EXPECT_EQ(governor.TryAcquire(false), milliseconds(std::chrono::hours(1)));
  EXPECT_EQ(governor.TryAcquire(true), milliseconds(std::chrono::hours(1)));
  clock.Advance(std::chrono::hours(1));
  EXPECT_EQ(governor.TryAcquire(false), milliseconds(0));
}

TEST(ForgeGovernor, PausesEveryoneOnRetryAfterAndOnAnExhaustedBudget) {
  FakeClock clock;
  ForgeGovernor governor({}, clock.Clock());
  EXPECT_EQ(governor.OnResponse(200, {{"x-ratelimit-remaining", "4999"}}), std::nullopt);
  EXPECT_EQ(governor.OnResponse(429, {{"retry-after", "7"}}), milliseconds(7000));
  EXPECT_EQ(governor.TryAcquire(false), milliseconds(7000));
  EXPECT_EQ(governor.Acquire(true, milliseconds(6000)), milliseconds(7000));  // Too long.
  EXPECT_EQ(governor.Acquire(true), milliseconds(0));
  EXPECT_EQ(clock.sleeps, std::vector<milliseconds>{milliseconds(7000)});

  // A successful answer that spends the last request also pauses until the reset.
  std::string reset = std::to_string(clock.WallEpoch() + 30);
  EXPECT_EQ(
      governor.OnResponse(200, {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", reset}}),
      milliseconds(31000));
  EXPECT_EQ(governor.PauseRemaining(), milliseconds(31000));
  // A shorter pause does not cut a longer one short.
  governor.OnResponse(429, {{"retry-after", "1"}});
  EXPECT_EQ(governor.PauseRemaining(), milliseconds(31000));
  EXPECT_EQ(governor.OnResponse(403, {}, /*rate_limited=*/true), milliseconds(60000));
  EXPECT_EQ(governor.OnResponse(403, {}), std::nullopt);  // A plain 403 is not a limit.
}

TEST(ForgeGovernor, ThreadsShareOneBudget) {
  FakeClock clock;
  ForgeGovernor governor({}, clock.Clock());
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (governor.TryAcquire(true) == milliseconds(0)) ++admitted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 80);
}

// Recorded api.github.com traffic from the npm package @octokit/fixtures, installed into the
// build tree on first use (never into the source tree).
class GitHubRecordedFixtures : public GitHubForgeTest {
 protected:
  static std::optional<std::filesystem::path> Scenarios(std::string* why) {
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::canonical("/proc/self/exe", ec);
    if (ec) {
      *why = "cannot locate the test binary: " + ec.message();
      return std::nullopt;
    }
    // build/tests/fleet_test -> build/octokit-fixtures
    std::filesystem::path prefix = exe.parent_path().parent_path() / "octokit-fixtures";
    std::filesystem::path scenarios =
        prefix / "node_modules/@octokit/fixtures/scenarios/api.github.com";
    if (std::filesystem::exists(scenarios / "add-labels-to-issue/normalized-fixture.json")) {
      return scenarios;
    }
    std::filesystem::create_directories(prefix, ec);
    // Test processes may run in parallel: one installs, the others wait on the lock.
    int lock_fd = ::open((prefix / ".install.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock_fd >= 0) ::flock(lock_fd, LOCK_EX);
    if (!std::filesystem::exists(scenarios / "add-labels-to-issue/normalized-fixture.json")) {
      std::string command = "npm install --no-audit --no-fund --loglevel=error --prefix '" +
                            prefix.string() + "' @octokit/fixtures > '" +
                            (prefix / "install.log").string() + "' 2>&1";
      int rc = std::system(command.c_str());
      if (rc != 0) {
        auto log = ReadFile(prefix / "install.log");
        int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : rc;
        *why = "npm install @octokit/fixtures failed (exit " + std::to_string(code) +
               "): " + (log ? log->substr(0, 400) : std::string("no log"));
      }
    }
    if (lock_fd >= 0) ::close(lock_fd);
    if (!std::filesystem::exists(scenarios / "add-labels-to-issue/normalized-fixture.json")) {
      if (why->empty()) *why = "@octokit/fixtures has no api.github.com scenarios";
      return std::nullopt;
    }
    return scenarios;
  }

  // The recorded exchanges of one scenario (nock definitions: method, path, body, status,
  // headers, response).
  static Json Load(const std::filesystem::path& scenarios, const std::string& name) {
    auto text = ReadFile(scenarios / name / "normalized-fixture.json");
    if (!text) return Json::array();
    auto json = ParseJson(*text, name);
    return json && json->is_array() ? *json : Json::array();
  }

  static const Json* Find(const Json& exchanges, const std::string& method,
                          const std::string& path_suffix) {
    for (const Json& exchange : exchanges) {
      if (Lower(exchange.value("method", "")) == Lower(method) &&
          exchange.value("path", "").ends_with(path_suffix)) {
        return &exchange;
      }
    }
    return nullptr;
  }

  static std::string Lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  static HttpResponse Replay(const Json& exchange) {
    HttpResponse response;
    response.status = exchange.value("status", 200);
    Json headers = exchange.value("headers", Json::object());
    for (auto& [name, value] : headers.items()) {
      if (name == "content-encoding") continue;
      response.headers[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    const Json& body = exchange.contains("response") ? exchange["response"] : Json();
    response.body = body.is_string() ? body.get<std::string>() : body.dump();
    return response;
  }

  static std::vector<std::string> Keys(const Json& object) {
    std::vector<std::string> keys;
    if (object.is_object()) {
      for (auto& [key, value] : object.items()) keys.push_back(key);
    }
    return keys;
  }

  void SetUp() override {
    GitHubForgeTest::SetUp();
    std::string why;
    scenarios_ = Scenarios(&why);
    if (!scenarios_) GTEST_SKIP() << why;
  }

  std::optional<std::filesystem::path> scenarios_;
};

TEST_F(GitHubRecordedFixtures, AddLabelsMatchesTheRecordedRequestAndParsesTheAnswer) {
  Json exchanges = Load(*scenarios_, "add-labels-to-issue");
  const Json* recorded = Find(exchanges, "POST", "/issues/1/labels");
  ASSERT_NE(recorded, nullptr);
  github_.SetOverride([recorded](const Recorded& request) -> std::optional<HttpResponse> {
    if (request.path == (*recorded)["path"].get<std::string>()) return Replay(*recorded);
    return std::nullopt;
  });
  Json recorded_body = (*recorded)["body"];
  std::vector<std::string> labels = recorded_body["labels"].get<std::vector<std::string>>();
  auto answer =
      forge_->AddLabels({"github.com", "octokit-fixture-org", "add-labels-to-issue"}, 1, labels);
  ASSERT_OK(answer);
  EXPECT_EQ(*answer, (std::vector<std::string>{"Foo", "bAr", "baZ"}));

  std::vector<Recorded> requests = github_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(Lower(requests[0].method), Lower((*recorded)["method"].get<std::string>()));
  EXPECT_EQ(requests[0].path, (*recorded)["path"].get<std::string>());
  Json sent = Json::parse(requests[0].body);
  EXPECT_EQ(Keys(sent), Keys(recorded_body));
  EXPECT_EQ(sent, recorded_body);
}

TEST_F(GitHubRecordedFixtures, CombinedStatusIsReadFromTheRecordedAnswer) {
  Json exchanges = Load(*scenarios_, "create-status");
  const Json* recorded = Find(exchanges, "GET", "/status");
  ASSERT_NE(recorded, nullptr);
  std::string recorded_path = (*recorded)["path"].get<std::string>();
  // .../commits/SHA/status
  std::string sha = recorded_path.substr(0, recorded_path.size() - std::string("/status").size());
  sha = sha.substr(sha.rfind('/') + 1);
  github_.SetOverride([&](const Recorded& request) -> std::optional<HttpResponse> {
    if (request.path == recorded_path) return Replay(*recorded);
    if (request.path == "/repos/octokit-fixture-org/create-status/pulls/1") {
      return JsonResponse(200, {{"number", 1},
                                {"state", "open"},
                                {"merged", false},
                                {"merged_at", nullptr},
                                {"head", {{"sha", sha}}}});
    }
    if (request.path.find("/check-runs") != std::string::npos) {
      return JsonResponse(200, {{"total_count", 0}, {"check_runs", Json::array()}});
    }
    return std::nullopt;
  });
  auto state = forge_->ReadState("https://github.com/octokit-fixture-org/create-status", 1);
  ASSERT_OK(state);
  EXPECT_EQ(state->head_sha, sha);
  // The recording holds one failing and one passing status: combined "failure".
  EXPECT_EQ((*recorded)["response"]["state"], "failure");
  EXPECT_EQ(state->checks, CheckState::kFailure);
  std::vector<Recorded> requests = github_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(Lower(requests[2].method), Lower((*recorded)["method"].get<std::string>()));
  EXPECT_EQ(requests[2].path, recorded_path);
  EXPECT_TRUE(requests[2].body.empty());
}

TEST_F(GitHubRecordedFixtures, RecordedValidationFailureIsSummarised) {
  Json exchanges = Load(*scenarios_, "errors");
  ASSERT_FALSE(exchanges.empty());
  const Json& recorded = exchanges[0];
  ASSERT_EQ(recorded.value("status", 0), 422);
  github_.SetOverride([&](const Recorded& request) -> std::optional<HttpResponse> {
    if (request.method == "POST") return Replay(recorded);
    return std::nullopt;
  });
  auto pr = forge_->OpenOrUpdatePullRequest(MakeDraft());
  ASSERT_FALSE(pr);
  EXPECT_EQ(pr.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(pr.error().message.find("422 Validation Failed (Label color invalid)"),
            std::string::npos)
      << pr.error().message;
}

}  // namespace
}  // namespace drover::fleet
