#include "forge/fork.h"

#include "core/strings.h"

namespace drover::fleet {
namespace {

std::string Namespace(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? std::string_view() : path.substr(0, slash));
}

std::string Name(std::string_view path) { return std::string(path.substr(path.rfind('/') + 1)); }

}  // namespace

Result<ForgeFork> ForkFinder::Ensure(ForkApi& api, std::string_view target_location,
                                     std::string_view target_path) {
  std::string key(target_location);
  {
    std::lock_guard lock(mutex_);
    if (auto it = forks_.find(key); it != forks_.end()) return it->second;
  }
  std::string context = "the fork of " + key;
  std::string target(target_path);
  std::string login;
  if (options_.fork_owner.empty() || options_.resolve_token_user) {
    auto user = api.TokenUser();
    if (!user) return Fail(WithContext(user.error(), context));
    login = *user;
  }
  std::string owner = options_.fork_owner.empty() ? login : options_.fork_owner;
  if (owner.empty()) {
    return Fail(ErrorCode::kProtocol,
                context + ": " + options_.forge + " did not name the token's user");
  }
  if (Lower(Namespace(target)) == Lower(owner)) {
    return Fail(ErrorCode::kInvalidArgument,
                context + ": the fork's namespace " + owner + " holds the target itself");
  }
  std::string wanted = owner + "/" + Name(target);
  auto fork = api.Repository(wanted);
  if (!fork && fork.error().code == ErrorCode::kNotFound) {
    fork = api.CreateFork(target, owner, !login.empty() && Lower(owner) == Lower(login));
  }
  if (!fork) return Fail(WithContext(fork.error(), context));
  if (!fork->parent || Lower(*fork->parent) != Lower(target)) {
    return Fail(ErrorCode::kInvalidArgument, context + ": " + wanted +
                                                 " exists and is not a fork of " + target +
                                                 "; the branch is not pushed there");
  }
  ForgeFork result;
  result.path = fork->path.empty() ? wanted : fork->path;
  result.owner = Namespace(result.path);
  result.id = fork->id;
  result.target_id = fork->parent_id;
  auto location = ReplaceRepositoryPath(target_location, target, result.path);
  if (!location) return Fail(WithContext(location.error(), context));
  result.push_location = *location;
  std::lock_guard lock(mutex_);
  forks_[key] = result;
  return result;
}

Result<std::string> PushLocationFor(
    const PullRequestDraft& draft, bool push_to_fork,
    const std::function<Result<ForgeFork>(std::string_view target_location)>& ensure_fork) {
  if (!push_to_fork) return draft.target_location;
  auto fork = ensure_fork(draft.target_location);
  if (!fork) {
    return Fail(
        WithContext(fork.error(), "publishing " + draft.head_branch + " of " + draft.repository));
  }
  return fork->push_location;
}

}  // namespace drover::fleet
