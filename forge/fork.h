// The fork-push flow of `forge.push_to: fork`, once for every forge: find the target's fork in a
// namespace (the token user's unless one is configured), make it when it is missing, refuse a
// same-named repository that is not a fork of the target, and say where to push. Each forge
// supplies the few REST calls it takes (ForkApi).
// Thread-safe: ForkFinder may be used from many job threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "forge/forge.h"

namespace drover::fleet {

// A repository as the fork flow needs to know it.
struct ForgeRepository {
  std::string path;  // "owner/name", "group/sub/name", as the forge names it.
  // The path of the repository it is a fork of; nullopt when it is not a fork.
  std::optional<std::string> parent;
  int64_t id = 0;         // The forge's numeric id, when it has one (GitLab); else 0.
  int64_t parent_id = 0;  // The parent's, likewise.
};

// A target's fork: where the head branch goes.
struct ForgeFork {
  std::string owner;  // The namespace that holds it (GitHub login, GitLab namespace path).
  std::string path;   // "owner/name": a forge may rename a fork on a clash.
  std::string push_location;  // The target's location with the fork's path.
  int64_t id = 0;             // The fork's numeric id (GitLab); else 0.
  int64_t target_id = 0;      // The target's numeric id (GitLab); else 0.
};

// The REST calls of the fork flow, for one target's host. Errors: the forge's.
class ForkApi {
 public:
  virtual ~ForkApi() = default;
  // The token user's login; "" when the forge does not say.
  virtual Result<std::string> TokenUser() = 0;
  // The repository at `path`; kNotFound when there is none.
  virtual Result<ForgeRepository> Repository(const std::string& path) = 0;
  // Asks the forge to fork `target_path` into the namespace `owner`; `owner_is_token_user` when
  // that is the token user's own (GitHub names an organisation only otherwise).
  virtual Result<ForgeRepository> CreateFork(const std::string& target_path,
                                             const std::string& owner,
                                             bool owner_is_token_user) = 0;
};

struct ForkOptions {
  std::string forge;  // "GitHub", "GitLab": named in errors.
  // The namespace that holds forks. Empty: the token user's.
  std::string fork_owner;
  // Ask for the token user even when fork_owner is set, to tell whether fork_owner is that
  // user (GitHub forks into an organisation by name). Default false.
  bool resolve_token_user = false;
};

class ForkFinder {
 public:
  explicit ForkFinder(ForkOptions options) : options_(std::move(options)) {}

  // The fork of `target_location`, whose repository path is `target_path`, found through `api`
  // or made with it; remembered per target location for the finder's lifetime.
  // Errors (with "the fork of LOCATION" as context): kInvalidArgument when the namespace holds
  // the target itself or a repository of the fork's name that is not a fork of the target;
  // kProtocol when the forge names no token user; the forge's.
  Result<ForgeFork> Ensure(ForkApi& api, std::string_view target_location,
                           std::string_view target_path);

 private:
  ForkOptions options_;
  std::mutex mutex_;                       // Guards forks_.
  std::map<std::string, ForgeFork> forks_;  // By target location.
};

// Forge::PushLocation of a forge that may push to forks: the target's location unless
// `push_to_fork`, else the location of the fork `ensure_fork` finds or makes for it.
// Errors: ensure_fork's, with "publishing BRANCH of REPOSITORY" as context.
Result<std::string> PushLocationFor(
    const PullRequestDraft& draft, bool push_to_fork,
    const std::function<Result<ForgeFork>(std::string_view target_location)>& ensure_fork);

}  // namespace drover::fleet
