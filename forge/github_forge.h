// Publishes a change as a GitHub pull request through the REST API (v3, api version
// 2022-11-28), on github.com or GitHub Enterprise Server, inside a shared ForgeGovernor.
// Thread-safe: one GitHubForge may serve many job threads (the HttpClient and governor are).
//
// This class does the API part only. The head branch must already be on GitHub when
// OpenOrUpdate is called: pushing with the token is the runner's job, done from the host
// through a git credential helper, never inside the sandbox, so the token never reaches a
// workspace or an agent.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "core/json.h"
#include "forge/forge.h"
#include "forge/forge_governor.h"
#include "forge/fork.h"
#include "forge/rest_client.h"

namespace drover::fleet {

// Where a repository lives on a GitHub host.
struct GitHubRepoRef {
  std::string host;  // "github.com" or an Enterprise host.
  std::string owner;
  std::string repo;
};

// Accepts https://HOST/OWNER/REPO(.git)(/), ssh://git@HOST(:port)/OWNER/REPO(.git) and
// git@HOST:OWNER/REPO(.git). Errors: kInvalidArgument naming the location.
Result<GitHubRepoRef> ParseGitHubLocation(std::string_view location);

// CODEOWNERS: the owners of `changed_paths` (repository-relative, '/'-separated). For each
// path the last matching line wins; results are the union in first-seen order, with the '@'
// dropped: "alice" for a user, "org/team" for a team. E-mail owners are skipped (the REST
// API cannot request them). Patterns follow GitHub's gitignore subset: `*`, `?`, `**`, a
// leading `/` or an inner `/` anchors to the root, a trailing `/` matches directories only;
// `!` negation and `[...]` ranges are unsupported on GitHub and never match here.
// GitLab's sections are understood: a `[Name]`, `^[Name]` or `[Name][N]` line starts a
// section, owners after it are the section's defaults for its lines without owners, and the
// last match is taken in each section (their owners add up).
std::vector<std::string> OwnersFor(std::string_view codeowners_text,
                                   const std::vector<std::string>& changed_paths);

// The CODEOWNERS text for a change: `draft.codeowners` when set, else the first of `places`
// (workspace-relative) that exists in `workspace`; "" when none does. Errors: reading one
// that exists failed.
Result<std::string> CodeOwnersText(const PullRequestDraft& draft,
                                   const std::filesystem::path& workspace,
                                   const std::vector<std::string>& places);

// The paths a unified diff touches (the b/ side, or the a/ side for deletions).
std::vector<std::string> ChangedPathsOfPatch(std::string_view patch);

enum class CheckState { kNone, kPending, kSuccess, kFailure };
std::string_view CheckStateName(CheckState state);

struct PullRequestState {
  enum class State { kOpen, kClosed, kMerged };
  State state = State::kOpen;
  int number = 0;
  std::string url;                       // html_url.
  std::optional<std::string> merged_at;  // ISO 8601, when merged.
  std::string head_sha;
  // Check runs and commit statuses of head_sha combined: any failure wins, then pending,
  // then success; kNone when there are neither.
  CheckState checks = CheckState::kNone;
};

// With push_to_fork, the PR is opened from FORK_OWNER:branch.
using GitHubForgeOptions = RestForgeOptions;

// Input to OpenOrUpdatePullRequest beyond the draft.
struct ReviewerRequest {
  std::vector<std::string> users;  // Logins.
  std::vector<std::string> teams;  // Team slugs of the repository's owner organisation.
};

class GitHubForge : public Forge {
 public:
  // `http` and `governor` must outlive the forge; one governor per token.
  GitHubForge(GitHubForgeOptions options, HttpClient& http, ForgeGovernor& governor);

  std::string_view Name() const override { return "github"; }

  // Does not push (see the top of this file). Takes draft.codeowners, or else reads CODEOWNERS
  // from the worktree (.github/, root, docs/, GitHub's order), takes the changed paths from
  // draft.patch, then OpenOrUpdatePullRequest. Errors: as OpenOrUpdatePullRequest.
  Result<PullRequest> OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) override;

  // Finds the open PR whose head is OWNER:draft.head_branch in draft.target_location's
  // repository; updates its title and body, or opens one (with draft.draft: GitHub only
  // sets the draft flag at creation). Then adds draft.labels and requests `reviewers`
  // (minus the PR's author, whom GitHub refuses; a 422 for reviewers GitHub will not accept
  // is ignored). PullRequest.id is "OWNER/REPO#N".
  // Errors: kInvalidArgument (bad location; GitHub's 400/409/422, errors summarised),
  // kPermissionDenied (401/403), kNotFound (404), kRateLimited (retry_after set),
  // kUnavailable (408, 5xx, network), kProtocol (other statuses, unexpected JSON).
  Result<PullRequest> OpenOrUpdatePullRequest(const PullRequestDraft& draft,
                                              const ReviewerRequest& reviewers = {});

  // With push_to_fork: the fork's location (EnsureFork); else the target's.
  Result<std::string> PushLocation(const PullRequestDraft& draft) override;

  // The fork of `target_location` owned by fork_owner (or the token's user), through
  // ForkFinder: found with GET /repos/OWNER/NAME, else made with POST .../forks. An existing
  // repository there that is not a fork of the target is refused (kInvalidArgument).
  // Remembered per target.
  Result<ForgeFork> EnsureFork(std::string_view target_location);

  // State of PR `number` and the combined checks of its head commit. Errors: as above.
  Result<PullRequestState> ReadState(std::string_view target_location, int number);

  // The building blocks, for callers that need one step. Errors: as above.
  // AddLabels returns the labels afterwards (all of them, not only the new ones).
  Result<std::vector<std::string>> AddLabels(const GitHubRepoRef& repo, int number,
                                             const std::vector<std::string>& labels);
  Status RequestReviewers(const GitHubRepoRef& repo, int number, const ReviewerRequest& reviewers);

 private:
  // RestClient::Call at this repository's API root.
  Result<Json> Call(const GitHubRepoRef& repo, std::string_view method, const std::string& path,
                    const std::optional<Json>& body);
  std::string ApiBase(const GitHubRepoRef& repo) const;

  class ForkCalls;  // ForkApi over this forge's REST calls, for one target.

  GitHubForgeOptions options_;
  RestClient rest_;
  ForkFinder forks_;
};

}  // namespace drover::fleet
