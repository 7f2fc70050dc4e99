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

// GitLab's "message" is a string, a list, or an object of field → list of problems.
std::string GitLabMessage(const HttpResponse& response) {
  auto json = ParseJson(response.body, "GitLab error");
  if (!json || !json->is_object()) {
    std::string body(Trim(response.body).substr(0, 200));
    return body.empty() ? "(no body)" : body;
  }
  const Json* message = json->contains("message") ? &(*json)["message"]
                        : json->contains("error") ? &(*json)["error"]
                                                  : nullptr;
  if (message == nullptr) return "(no message)";
  if (message->is_string()) return message->get<std::string>();
  std::string text;
  auto append = [&](const std::string& item) {
    if (!text.empty()) text += "; ";
    text += item;
  };
  if (message->is_array()) {
    for (const Json& item : *message)
      append(item.is_string() ? item.get<std::string>() : item.dump());
  } else if (message->is_object()) {
    for (auto& [field, problems] : message->items()) {
      if (problems.is_array()) {
        for (const Json& item : problems) {
          append(field + " " + (item.is_string() ? item.get<std::string>() : item.dump()));
        }
      } else {
        append(field + " " +
               (problems.is_string() ? problems.get<std::string>() : problems.dump()));
      }
    }
  } else {
    text = message->dump();
  }
  return text;
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
      http_(http),
      governor_(governor),
      redactor_(std::vector<std::string>{options_.token}) {}

Result<Json> GitLabForge::Call(const GitLabProjectRef& project, std::string_view method,
                               const std::string& path, const std::optional<Json>& body) {
  std::string what = "GitLab " + std::string(method) + " " + path;
  std::string base =
      options_.api_base_url.empty() ? "https://" + project.host + "/api/v4" : options_.api_base_url;
  while (base.ends_with('/')) base.pop_back();
  bool creates = method != "GET";
  HttpRequest request;
  request.method = std::string(method);
  request.url = base + path;
  request.timeout = options_.request_timeout;
  request.headers["accept"] = "application/json";
  request.headers["private-token"] = options_.token;
  request.headers["user-agent"] = options_.user_agent;
  if (body) {
    request.headers["content-type"] = "application/json";
    request.body = body->dump();
  }
  int attempts = std::max(1, options_.max_attempts);
  for (int attempt = 1;; ++attempt) {
    if (auto wait = governor_.Acquire(creates, options_.max_wait); wait.count() > 0) {
      return Fail(Error{
          ErrorCode::kRateLimited,
          what + ": held back by the request governor for " + std::to_string(wait.count()) + " ms",
          wait});
    }
    auto response = http_.Send(request);
    if (!response) {
      return Fail(
          WithContext(Error{response.error().code, redactor_.Redact(response.error().message),
                            response.error().retry_after},
                      what));
    }
    bool ok = response->status >= 200 && response->status < 300;
    bool rate_limited = response->status == 429;
    auto pause = governor_.OnResponse(response->status, response->headers, rate_limited);
    if (ok) {
      if (Trim(response->body).empty()) return Json();
      auto json = ParseJson(response->body, what);
      if (!json) return Fail(ErrorCode::kProtocol, json.error().message);
      return std::move(*json);
    }
    std::string text = redactor_.Redact(what + ": " + std::to_string(response->status) + " " +
                                        GitLabMessage(*response));
    if (rate_limited) {
      if (attempt < attempts && (!pause || *pause <= options_.max_wait)) continue;
      return Fail(Error{ErrorCode::kRateLimited, text, pause});
    }
    switch (response->status) {
      case 401:
      case 403: return Fail(ErrorCode::kPermissionDenied, text);
      case 404: return Fail(ErrorCode::kNotFound, text);
      case 400:
      case 409:
      case 422: return Fail(ErrorCode::kInvalidArgument, text);
      default: break;
    }
    return Fail(response->status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kProtocol, text);
  }
}

Result<PullRequest> GitLabForge::OpenOrUpdateMergeRequest(
    const PullRequestDraft& draft, const std::vector<int64_t>& reviewer_ids) {
  std::string context = "publishing " + draft.head_branch + " of " + draft.repository;
  auto project = ParseGitLabLocation(draft.target_location);
  if (!project) return Fail(WithContext(project.error(), context));
  std::string mrs = "/projects/" + Escape(project->path) + "/merge_requests";
  std::string title = draft.title;
  if (draft.draft && !title.starts_with(kDraftPrefix)) title = std::string(kDraftPrefix) + title;

  std::optional<GitLabFork> fork;
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
  if (!options_.push_to_fork) return draft.target_location;
  auto fork = EnsureFork(draft.target_location);
  if (!fork) {
    return Fail(
        WithContext(fork.error(), "publishing " + draft.head_branch + " of " + draft.repository));
  }
  return fork->push_location;
}

Result<GitLabFork> GitLabForge::EnsureFork(std::string_view target_location) {
  std::string key(target_location);
  {
    std::lock_guard lock(forks_mutex_);
    if (auto it = forks_.find(key); it != forks_.end()) return it->second;
  }
  std::string context = "the fork of " + key;
  auto project = ParseGitLabLocation(target_location);
  if (!project) return Fail(WithContext(project.error(), context));
  std::string space = options_.fork_owner;
  if (space.empty()) {
    auto user = Call(*project, "GET", "/user", std::nullopt);
    if (!user) return Fail(WithContext(user.error(), context));
    space = StringField(*user, "username");
    if (space.empty()) {
      return Fail(ErrorCode::kProtocol, context + ": GitLab did not name the token's user");
    }
  }
  std::string name = project->path.substr(project->path.rfind('/') + 1);
  std::string wanted = space + "/" + name;
  if (Lower(project->path.substr(0, project->path.rfind('/'))) == Lower(space)) {
    return Fail(ErrorCode::kInvalidArgument,
                context + ": the fork namespace " + space + " holds the target itself");
  }
  auto forked_from_target = [&](const Json& found) {
    return found.is_object() && found.contains("forked_from_project") &&
           found["forked_from_project"].is_object() &&
           Lower(StringField(found["forked_from_project"], "path_with_namespace")) ==
               Lower(project->path);
  };
  Result<Json> fork = Call(*project, "GET", "/projects/" + Escape(wanted), std::nullopt);
  if (!fork && fork.error().code == ErrorCode::kNotFound) {
    fork = Call(*project, "POST", "/projects/" + Escape(project->path) + "/fork",
                Json{{"namespace_path", space}});
  }
  if (!fork) return Fail(WithContext(fork.error(), context));
  if (!forked_from_target(*fork)) {
    return Fail(ErrorCode::kInvalidArgument, context + ": " + wanted +
                                                 " exists and is not a fork of " + project->path +
                                                 "; the branch is not pushed there");
  }
  const Json& parent = (*fork)["forked_from_project"];
  if (!fork->contains("id") || !(*fork)["id"].is_number_integer() || !parent.contains("id") ||
      !parent["id"].is_number_integer()) {
    return Fail(ErrorCode::kProtocol, context + ": GitLab's project has no id");
  }
  GitLabFork result;
  result.id = (*fork)["id"].get<int64_t>();
  result.target_id = parent["id"].get<int64_t>();
  result.path = StringField(*fork, "path_with_namespace");
  if (result.path.empty()) result.path = wanted;
  auto location = ReplaceRepositoryPath(target_location, project->path, result.path);
  if (!location) return Fail(WithContext(location.error(), context));
  result.push_location = *location;
  std::lock_guard lock(forks_mutex_);
  forks_[key] = result;
  return result;
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
