// Choosing a run's forge: the spec's `forge` key and the command line resolved into one
// setting (the token read from the runner's environment), the git credentials it implies, the
// Forge to publish through, and reading a published PR's state back for `drover track`.
// Thread-safe: free functions over value types; the forges they build are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "forge/forge.h"
#include "forge/forge_governor.h"
#include "git/git.h"
#include "spec/spec.h"
#include "store/state_store.h"

namespace drover::fleet {

struct ForgeSetup {
  ForgeKind kind = ForgeKind::kLocal;
  std::string api_url;        // As given; "" for the public host's.
  std::string token_env;      // Name of the variable; "" for local.
  std::string token;          // Its value: kept in memory only, never written anywhere.
  std::string host;           // Where the forge's repositories live ("github.com"); "" for local.
  bool push_to_fork = false;  // forge.push_to: fork.
  std::string fork_owner;     // forge.fork_owner ("" for the token's user).
};

// The spec's settings, overridden by `kind` and `url` from the command line when given; the
// token comes from env[token_env] (default GITHUB_TOKEN or GITLAB_TOKEN).
// Errors: kInvalidArgument naming the variable when the token is missing, or a bad URL.
Result<ForgeSetup> ResolveForge(const ForgeSettings& settings, std::optional<ForgeKind> kind,
                                const std::string& url,
                                const std::map<std::string, std::string>& env);

// OK for every target of a local forge; for GitHub and GitLab, kInvalidArgument unless
// `location` is a remote on the forge's host.
Status CheckTargetOnForge(const ForgeSetup& forge, std::string_view location);

// HTTPS credentials for the forge's host: x-access-token:<token> (GitHub), oauth2:<token>
// (GitLab); none for local.
std::vector<GitCredential> GitCredentialsFor(const ForgeSetup& forge);

// The forge to publish through. `git`, `http` and `governor` must outlive it.
std::unique_ptr<Forge> MakeForge(const ForgeSetup& forge, GitRepos& git, HttpClient& http,
                                 ForgeGovernor& governor);

// The PR number in a PullRequest id ("acme/widgets#12" → 12, "group/app!7" → 7); 0 for local.
int64_t PullRequestNumber(std::string_view id);

// A published PR's state now, with its checks (none, pending, success, failure).
struct ObservedPullRequest {
  PrState state = PrState::kOpen;
  std::string checks = "none";
};

// Asks the PR's forge. Local: merged when the published commit is reachable from the target's
// default branch, closed when its branch is gone, else open; a target that is not a local
// repository keeps its recorded state. Errors: the forge's or git's, or kInvalidArgument when
// the token variable the PR was published with is not set in `env`.
Result<ObservedPullRequest> ReadPullRequest(const PullRequestRecord& pr, GitRepos& git,
                                            HttpClient& http, ForgeGovernor& governor,
                                            const std::map<std::string, std::string>& env);

}  // namespace drover::fleet
