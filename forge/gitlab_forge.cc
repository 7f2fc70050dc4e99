#include "forge/gitlab_forge.h"

#include <algorithm>
#include <cctype>

#include "core/strings.h"
#include "git/remote_location.h"

namespace drover::fleet {
namespace {

constexpr std::string_view kDraftPrefix = "Draft: ";

// For the project path (":id" is the URL-encoded full path) and query values.
std::string Escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string StringField(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<int> IidOf(const Json& mr) {
  if (!mr.is_object() || !mr.contains("iid") || !mr["iid"].is_number_integer()) {
    return Fail(ErrorCode::kProtocol, "GitLab answered without a merge request iid");
  }
  return mr["iid"].get<int>();
}

// The ids of an MR's reviewers as GitLab lists them.
std::vector<int64_t> ReviewerIds(const Json& mr) {
  std::vector<int64_t> ids;
  if (!mr.is_object() || !mr.contains("reviewers") || !mr["reviewers"].is_array()) return ids;
  for (const Json& user : mr["reviewers"]) {
    if (user.is_object() && user.contains("id") && user["id"].is_number_integer()) {
      ids.push_back(user["id"].get<int64_t>());
    }
  }
  return ids;
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string joined;
  for (const std::string& label : labels) {
    if (!joined.empty()) joined += ',';
    joined += label;
  }
  return joined;
}

}  // namespace

Result<GitLabProjectRef> ParseGitLabLocation(std::string_view location) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "not a GitLab project location (want https://HOST/GROUP/PROJECT or "
                "git@HOST:GROUP/PROJECT.git): " +
                    std::string(location));
  };
  auto remote = ParseRemoteLocation(location);
  if (!remote || remote->path.find('/') == std::string::npos) return bad();
  return GitLabProjectRef{remote->host, remote->path};
}

GitLabForge::GitLabForge(GitLabForgeOptions options, HttpClient& http, ForgeGovernor& governor)
    : options_(std::move(options)),
      rest_(ForgeRestClientOptions(options_, "GitLab", RestAuth::kPrivateToken,
                                   {{"accept", "application/json"}}),
            http, governor),
      forks_(ForkOptions{.forge = "GitLab", .fork_owner = options_.fork_owner}) {}

Result<Json> GitLabForge::Call(const GitLabProjectRef& project, std::string_view method,
                               const std::string& path, const std::optional<Json>& body) {
  std::string base =
      options_.api_base_url.empty() ? "https://" + project.host + "/api/v4" : options_.api_base_url;
  while (base.ends_with('/')) base.pop_back();
  return rest_.Call(base, method, path, body);
}

Result<PullRequest> GitLabForge::OpenOrUpdateMergeRequest(
    const PullRequestDraft& draft, const std::vector<int64_t>& reviewer_ids) {
  std::string context = "publishing " + draft.head_branch + " of " + draft.repository;
  auto project = ParseGitLabLocation(draft.target_location);
  if (!project) return Fail(WithContext(project.error(), context));
  std::string mrs = "/projects/" + Escape(project->path) + "/merge_requests";
  std::string title = draft.title;
  if (draft.draft && !title.starts_with(kDraftPrefix)) title = std::string(kDraftPrefix) + title;

  std::optional<ForgeFork> fork;
  if (options_.push_to_fork) {
    auto found = EnsureFork(draft.target_location);
    if (!found) return Fail(WithContext(found.error(), context));
    fork = *found;
  }

  auto open =
      Call(*project, "GET", mrs + "?source_branch=" + Escape(draft.head_branch) + "&state=opened",
           std::nullopt);
  if (!open) return Fail(WithContext(open.error(), context));
  if (!open->is_array()) {
    return Fail(ErrorCode::kProtocol, context + ": GitLab's merge request list is not an array");
  }
  // From a fork, only an MR whose source is the fork's branch is this change's.
  if (fork) {
    Json mine = Json::array();
    for (const Json& mr : *open) {
      if (mr.is_object() && mr.contains("source_project_id") &&
          mr["source_project_id"].is_number_integer() &&
          mr["source_project_id"].get<int64_t>() == fork->id) {
        mine.push_back(mr);
      }
    }
    *open = std::move(mine);
  }
  PullRequest result;
  Result<Json> mr;
  Json fields = {
      {"title", title}, {"description", draft.body}, {"labels", JoinLabels(draft.labels)}};
  if (!open->empty()) {
    auto iid = IidOf(open->front());
    if (!iid) return Fail(WithContext(iid.error(), context));
    // reviewer_ids replaces the list: keep whoever the team asked meanwhile.
    std::vector<int64_t> reviewers = ReviewerIds(open->front());
    size_t had = reviewers.size();
    for (int64_t id : reviewer_ids) {
      if (std::find(reviewers.begin(), reviewers.end(), id) == reviewers.end()) {
        reviewers.push_back(id);
      }
    }
    if (reviewers.size() > had) fields["reviewer_ids"] = reviewers;
    mr = Call(*project, "PUT", mrs + "/" + std::to_string(*iid), fields);
    result.updated = true;
  } else {
    fields["source_branch"] = draft.head_branch;
    fields["target_branch"] = draft.base_branch;
    if (!reviewer_ids.empty()) fields["reviewer_ids"] = reviewer_ids;
    if (fork) {
      // Opened on the fork (the source project), into the target project.
      fields["target_project_id"] = fork->target_id;
      mr = Call(*project, "POST", "/projects/" + std::to_string(fork->id) + "/merge_requests",
                fields);
    } else {
      mr = Call(*project, "POST", mrs, fields);
    }
  }
  if (!mr) return Fail(WithContext(mr.error(), context));
  auto iid = IidOf(*mr);
  if (!iid) return Fail(WithContext(iid.error(), context));
  result.id = project->path + "!" + std::to_string(*iid);
  result.url = StringField(*mr, "web_url");
  return result;
}

Result<std::optional<int64_t>> GitLabForge::UserId(const GitLabProjectRef& project,
                                                   const std::string& username) {
  std::string key = project.host + " " + Lower(username);
  {
    std::lock_guard lock(users_mutex_);
    if (auto it = users_.find(key); it != users_.end()) return it->second;
  }
  auto found = Call(project, "GET", "/users?username=" + Escape(username), std::nullopt);
  if (!found) return Fail(found.error());
  std::optional<int64_t> id;
  if (found->is_array()) {
    for (const Json& user : *found) {
      if (user.is_object() && user.contains("id") && user["id"].is_number_integer() &&
          Lower(StringField(user, "username")) == Lower(username)) {
        id = user["id"].get<int64_t>();
      }
    }
  }
  std::lock_guard lock(users_mutex_);
  users_[key] = id;
  return id;
}

Result<PullRequest> GitLabForge::OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) {
  std::vector<int64_t> reviewer_ids;
  if (options_.request_codeowners) {
    std::string context = "publishing " + draft.head_branch + " of " + draft.repository;
    auto project = ParseGitLabLocation(draft.target_location);
    if (!project) return Fail(WithContext(project.error(), context));
    auto codeowners = CodeOwnersText(draft, wt.workspace,
                                     {"CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"});
    if (!codeowners) return Fail(codeowners.error());
    for (const std::string& owner : OwnersFor(*codeowners, ChangedPathsOfPatch(draft.patch))) {
      if (owner.find('/') != std::string::npos) continue;  // A group, or a subgroup.
      auto id = UserId(*project, owner);
      if (!id) return Fail(WithContext(id.error(), context));
      if (*id) reviewer_ids.push_back(**id);
    }
  }
  return OpenOrUpdateMergeRequest(draft, reviewer_ids);
}

Result<std::string> GitLabForge::PushLocation(const PullRequestDraft& draft) {
  return PushLocationFor(draft, options_.push_to_fork,
                         [this](std::string_view target) { return EnsureFork(target); });
}

class GitLabForge::ForkCalls final : public ForkApi {
 public:
  ForkCalls(GitLabForge& forge, GitLabProjectRef project)
      : forge_(forge), project_(std::move(project)) {}

  Result<std::string> TokenUser() override {
    auto user = forge_.Call(project_, "GET", "/user", std::nullopt);
    if (!user) return Fail(user.error());
    return StringField(*user, "username");
  }

  Result<ForgeRepository> Repository(const std::string& path) override {
    return Read(forge_.Call(project_, "GET", "/projects/" + Escape(path), std::nullopt));
  }

  Result<ForgeRepository> CreateFork(const std::string& target_path, const std::string& owner,
                                     bool /*owner_is_token_user*/) override {
    return Read(forge_.Call(project_, "POST", "/projects/" + Escape(target_path) + "/fork",
                            Json{{"namespace_path", owner}}));
  }

 private:
  // The merge request from a fork names both projects by id, so a fork without them is no use.
  static Result<ForgeRepository> Read(Result<Json> answer) {
    if (!answer) return Fail(answer.error());
    const Json& found = *answer;
    ForgeRepository project;
    project.path = StringField(found, "path_with_namespace");
    if (!found.is_object() || !found.contains("forked_from_project") ||
        !found["forked_from_project"].is_object()) {
      return project;
    }
    const Json& parent = found["forked_from_project"];
    project.parent = StringField(parent, "path_with_namespace");
    if (!found.contains("id") || !found["id"].is_number_integer() || !parent.contains("id") ||
        !parent["id"].is_number_integer()) {
      return Fail(ErrorCode::kProtocol, "GitLab's project has no id");
    }
    project.id = found["id"].get<int64_t>();
    project.parent_id = parent["id"].get<int64_t>();
    return project;
  }

  GitLabForge& forge_;
  GitLabProjectRef project_;
};

Result<ForgeFork> GitLabForge::EnsureFork(std::string_view target_location) {
  auto project = ParseGitLabLocation(target_location);
  if (!project) {
    return Fail(WithContext(project.error(), "the fork of " + std::string(target_location)));
  }
  ForkCalls calls(*this, *project);
  return forks_.Ensure(calls, target_location, project->path);
}

Result<PullRequestState> GitLabForge::ReadState(std::string_view target_location, int iid) {
  std::string context =
      "reading merge request " + std::to_string(iid) + " of " + std::string(target_location);
  auto project = ParseGitLabLocation(target_location);
  if (!project) return Fail(WithContext(project.error(), context));
  auto mr = Call(*project, "GET",
                 "/projects/" + Escape(project->path) + "/merge_requests/" + std::to_string(iid),
                 std::nullopt);
  if (!mr) return Fail(WithContext(mr.error(), context));
  if (!mr->is_object()) return Fail(ErrorCode::kProtocol, context + ": not a JSON object");

  PullRequestState state;
  state.number = iid;
  state.url = StringField(*mr, "web_url");
  state.head_sha = StringField(*mr, "sha");
  std::string status = StringField(*mr, "state");
  if (status == "merged") {
    state.state = PullRequestState::State::kMerged;
    std::string merged_at = StringField(*mr, "merged_at");
    if (!merged_at.empty()) state.merged_at = merged_at;
  } else if (status == "closed" || status == "locked") {
    state.state = PullRequestState::State::kClosed;
  } else {
    state.state = PullRequestState::State::kOpen;
  }
  const char* pipeline_key = mr->contains("head_pipeline") && (*mr)["head_pipeline"].is_object()
                                 ? "head_pipeline"
                                 : "pipeline";
  std::string pipeline =
      mr->contains(pipeline_key) ? StringField((*mr)[pipeline_key], "status") : std::string();
  if (pipeline.empty()) {
    state.checks = CheckState::kNone;
  } else if (pipeline == "success" || pipeline == "skipped") {
    state.checks = CheckState::kSuccess;
  } else if (pipeline == "failed" || pipeline == "canceled") {
    state.checks = CheckState::kFailure;
  } else {
    state.checks = CheckState::kPending;
  }
  return state;
}

}  // namespace drover::fleet
