// Publishes a change as a GitLab merge request through the REST API v4 (gitlab.com or a
// self-managed host), inside a shared ForgeGovernor.
// Thread-safe: one GitLabForge may serve many job threads (the HttpClient and governor are).
//
// Like GitHubForge, this class does the API part only: the source branch must already be
// pushed, by the runner from the host through a git credential helper, never from inside
// the sandbox.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
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
#include "forge/github_forge.h"

namespace drover::fleet {

struct GitLabProjectRef {
  std::string host;
  std::string path;  // "group/subgroup/project".
};

// Accepts https://HOST/GROUP/.../PROJECT(.git), ssh://git@HOST(:port)/... and
// git@HOST:GROUP/.../PROJECT.git. Errors: kInvalidArgument naming the location.
Result<GitLabProjectRef> ParseGitLabLocation(std::string_view location);

// fork_owner is a namespace path (a user's or a group's).
using GitLabForgeOptions = RestForgeOptions;

class GitLabForge : public Forge {
 public:
  // `http` and `governor` must outlive the forge; one governor per token, configured with
  // the instance's limits (ForgeGovernorOptions defaults are GitHub's).
  GitLabForge(GitLabForgeOptions options, HttpClient& http, ForgeGovernor& governor);

  std::string_view Name() const override { return "gitlab"; }

  // Does not push (see the top of this file). Takes draft.codeowners, or else the worktree's
  // CODEOWNERS (root, docs/, .gitlab/: GitLab's order), resolves the user owners of the
  // patch's paths to ids (group owners cannot review and are left out; unknown users are
  // skipped), then OpenOrUpdateMergeRequest. Errors: as OpenOrUpdateMergeRequest.
  Result<PullRequest> OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) override;

  // Finds the open MR from draft.head_branch; updates its title, description and labels, or
  // opens one into draft.base_branch. A draft is marked with GitLab's "Draft: " title
  // prefix. `reviewer_ids` are added to the MR's reviewers (those already there stay).
  // PullRequest.id is "PROJECT!IID".
  // Errors: kInvalidArgument (bad location; 400/409/422), kPermissionDenied (401/403),
  // kNotFound (404), kRateLimited (retry_after set), kUnavailable (408, 5xx, network),
  // kProtocol (other statuses, unexpected JSON).
  Result<PullRequest> OpenOrUpdateMergeRequest(const PullRequestDraft& draft,
                                               const std::vector<int64_t>& reviewer_ids = {});

  // The id of the user called `username` on the project's instance; nullopt when there is
  // none. Answers are remembered for the forge's lifetime. Errors: as above.
  Result<std::optional<int64_t>> UserId(const GitLabProjectRef& project,
                                        const std::string& username);

  // With push_to_fork: the fork's location (EnsureFork); else the target's.
  Result<std::string> PushLocation(const PullRequestDraft& draft) override;

  // The fork of `target_location` in fork_owner's namespace (or the token user's), through
  // ForkFinder: found with GET /projects/NAMESPACE%2FPROJECT, else made with POST
  // /projects/TARGET/fork. A project there that is not a fork of the target is refused
  // (kInvalidArgument). Remembered. ForgeFork::id and target_id are the project ids.
  Result<ForgeFork> EnsureFork(std::string_view target_location);

  // State of MR `iid` (opened → kOpen, merged, closed/locked → kClosed) and its head
  // pipeline as the check state. Errors: as above.
  Result<PullRequestState> ReadState(std::string_view target_location, int iid);

 private:
  // RestClient::Call at the project's API root.
  Result<Json> Call(const GitLabProjectRef& project, std::string_view method,
                    const std::string& path, const std::optional<Json>& body);

  class ForkCalls;  // ForkApi over this forge's REST calls, for one target.

  GitLabForgeOptions options_;
  RestClient rest_;
  ForkFinder forks_;
  std::mutex users_mutex_;
  std::map<std::string, std::optional<int64_t>> users_;  // "host username" → id.
};

}  // namespace drover::fleet
