#include "forge/forges.h"

#include <cctype>
#include <cstdlib>

#include "core/redact.h"
#include "core/strings.h"
#include "forge/github_forge.h"
#include "forge/gitlab_forge.h"
#include "git/remote_location.h"

namespace drover::fleet {
namespace {

// The host of an API root: "https://ghe.example.com/api/v3" → "ghe.example.com";
// api.github.com serves github.com.
Result<std::string> ApiHost(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (!url.starts_with("https://") && !url.starts_with("http://"))) {
    return Fail(ErrorCode::kInvalidArgument, "forge URL \"" + url + "\" is not an http(s) URL");
  }
  std::string host = url.substr(scheme + 3);
  host = host.substr(0, host.find('/'));
  if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  host = host.substr(0, host.find(':'));
  if (host.empty())
    return Fail(ErrorCode::kInvalidArgument, "forge URL \"" + url + "\" has no host");
  host = Lower(host);
  if (host == "api.github.com") return std::string("github.com");
  return host;
}

}  // namespace

Result<ForgeSetup> ResolveForge(const ForgeSettings& settings, std::optional<ForgeKind> kind,
                                const std::string& url,
                                const std::map<std::string, std::string>& env) {
  ForgeSetup forge;
  forge.kind = kind.value_or(settings.kind);
  if (forge.kind == ForgeKind::kLocal) {
    if (settings.push_to_fork) {
      return Fail(ErrorCode::kInvalidArgument,
                  "forge.push_to: fork needs a github or gitlab forge (the local forge has no "
                  "forks)");
    }
    return forge;
  }
  forge.push_to_fork = settings.push_to_fork;
  forge.fork_owner = settings.fork_owner;
  forge.api_url = url.empty() ? settings.base_url : url;
  while (forge.api_url.ends_with('/')) forge.api_url.pop_back();
  bool github = forge.kind == ForgeKind::kGitHub;
  forge.token_env =
      settings.token_env.empty() ? (github ? "GITHUB_TOKEN" : "GITLAB_TOKEN") : settings.token_env;
  forge.token = ReadCredential(env, forge.token_env);
  std::string name(ForgeKindName(forge.kind));
  if (forge.token.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "forge " + name + ": " + forge.token_env +
                    " is not set in the runner's environment (the token to push and open PRs "
                    "with; forge.token_env names another variable)");
  }
  if (forge.api_url.empty()) {
    forge.host = github ? "github.com" : "gitlab.com";
    return forge;
  }
  auto host = ApiHost(forge.api_url);
  if (!host) return Fail(WithContext(host.error(), "forge " + name));
  forge.host = *host;
  return forge;
}

Status CheckTargetOnForge(const ForgeSetup& forge, std::string_view location) {
  if (forge.kind == ForgeKind::kLocal) return {};
  auto remote = ParseRemoteLocation(location);
  std::string name(ForgeKindName(forge.kind));
  if (!remote) {
    return Fail(ErrorCode::kInvalidArgument, std::string(location) +
                                                 " is not a remote repository on " + forge.host +
                                                 " (the " + name + " forge publishes only there)");
  }
  if (remote->host != forge.host) {
    return Fail(ErrorCode::kInvalidArgument, std::string(location) + " is on " + remote->host +
                                                 ", not on " + forge.host + " (the " + name +
                                                 " forge's host)");
  }
  return {};
}

std::vector<GitCredential> GitCredentialsFor(const ForgeSetup& forge) {
  switch (forge.kind) {
    case ForgeKind::kLocal: return {};
    case ForgeKind::kGitHub: return {{forge.host, "x-access-token", forge.token}};
    case ForgeKind::kGitLab: return {{forge.host, "oauth2", forge.token}};
  }
  return {};
}

std::unique_ptr<Forge> MakeForge(const ForgeSetup& forge, GitRepos& git, HttpClient& http,
                                 ForgeGovernor& governor) {
  switch (forge.kind) {
    case ForgeKind::kLocal: return std::make_unique<LocalForge>(git);
    case ForgeKind::kGitHub:
    case ForgeKind::kGitLab: {
      RestForgeOptions options;
      options.api_base_url = forge.api_url;
      options.token = forge.token;
      options.push_to_fork = forge.push_to_fork;
      options.fork_owner = forge.fork_owner;
      if (forge.kind == ForgeKind::kGitHub) {
        return std::make_unique<GitHubForge>(options, http, governor);
      }
      return std::make_unique<GitLabForge>(options, http, governor);
    }
  }
  return std::make_unique<LocalForge>(git);
}

int64_t PullRequestNumber(std::string_view id) {
  size_t mark = id.find_last_of("#!");
  if (mark == std::string_view::npos || id.starts_with("local:")) return 0;
  return std::atoll(std::string(id.substr(mark + 1)).c_str());
}

Result<ObservedPullRequest> ReadPullRequest(const PullRequestRecord& pr, GitRepos& git,
                                            HttpClient& http, ForgeGovernor& governor,
                                            const std::map<std::string, std::string>& env) {
  auto kind = ParseForgeKind(pr.forge);
  if (!kind) return Fail(kind.error());
  ObservedPullRequest observed{pr.state, pr.checks};
  if (*kind == ForgeKind::kLocal) {
    if (!pr.location.starts_with("/") && !pr.location.starts_with("file://")) return observed;
    auto status = git.LocalBranchStatus(pr.location, pr.head_branch, pr.head_commit);
    if (!status) return Fail(status.error());
    observed.state = status->merged   ? PrState::kMerged
                     : status->exists ? PrState::kOpen
                                      : PrState::kClosed;
    return observed;
  }
  ForgeSettings settings{*kind, pr.api_url, pr.token_env};
  auto forge = ResolveForge(settings, std::nullopt, "", env);
  if (!forge) return Fail(forge.error());
  int number = static_cast<int>(pr.number);
  auto read = [&]() -> Result<PullRequestState> {
    if (*kind == ForgeKind::kGitHub) {
      GitHubForgeOptions options;
      options.api_base_url = forge->api_url;
      options.token = forge->token;
      return GitHubForge(options, http, governor).ReadState(pr.location, number);
    }
    GitLabForgeOptions options;
    options.api_base_url = forge->api_url;
    options.token = forge->token;
    return GitLabForge(options, http, governor).ReadState(pr.location, number);
  };
  auto state = read();
  if (!state) return Fail(state.error());
  switch (state->state) {
    case PullRequestState::State::kOpen: observed.state = PrState::kOpen; break;
    case PullRequestState::State::kMerged: observed.state = PrState::kMerged; break;
    case PullRequestState::State::kClosed: observed.state = PrState::kClosed; break;
  }
  observed.checks = std::string(CheckStateName(state->checks));
  return observed;
}

}  // namespace drover::fleet
