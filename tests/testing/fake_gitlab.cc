#include "tests/testing/fake_gitlab.h"

#include <cstdlib>

namespace drover::testing {

HttpResponse FakeGitLab::Handle(const HttpRequest& request) {
  std::lock_guard lock(mutex_);
  Recorded recorded{request.method, request.url, request.headers, request.body};
  requests_.push_back(recorded);
  if (override_) {
    if (auto answer = override_(recorded)) return *answer;
  }
  std::string base = std::string("/api/v4/projects/acme%2Fplatform%2Fwidgets/merge_requests");
  std::string path = request.url.substr(0, request.url.find('?'));
  Json body = request.body.empty() ? Json() : Json::parse(request.body, nullptr, false);
  const std::string projects = "/api/v4/projects/";
  auto unescape = [](std::string text) {
    for (size_t at = text.find("%2F"); at != std::string::npos; at = text.find("%2F", at)) {
      text.replace(at, 3, "/");
    }
    return text;
  };
  if (request.method == "GET" && path == "/api/v4/user") {
    return JsonResponse(200, {{"id", 7}, {"username", "drover-bot"}});
  }
  if (request.method == "POST" && path == projects + "acme%2Fplatform%2Fwidgets/fork") {
    std::string space = body.is_object() && body.contains("namespace_path")
                            ? body["namespace_path"].get<std::string>()
                            : std::string("drover-bot");
    std::string fork_path = space + "/widgets";
    if (!projects_.contains(fork_path)) {
      projects_[fork_path] = {
          {"id", static_cast<int64_t>(projects_.size()) + 2},
          {"path_with_namespace", fork_path},
          {"forked_from_project", {{"id", 1}, {"path_with_namespace", "acme/platform/widgets"}}}};
      if (fork_hook_) fork_hook_(fork_path);
    }
    return JsonResponse(201, projects_[fork_path]);
  }
  if (request.method == "GET" && path.starts_with(projects) &&
      path.find('/', projects.size()) == std::string::npos) {
    std::string wanted = unescape(path.substr(projects.size()));
    if (projects_.contains(wanted)) return JsonResponse(200, projects_[wanted]);
    if (wanted == "acme/platform/widgets") {
      return JsonResponse(200, {{"id", 1}, {"path_with_namespace", wanted}});
    }
    return JsonResponse(404, {{"message", "404 Project Not Found"}});
  }
  // A merge request opened on a fork, into the project.
  if (request.method == "POST" && path.starts_with(projects) && path.ends_with("/merge_requests") &&
      path != base) {
    std::string source = path.substr(projects.size());
    source = source.substr(0, source.find('/'));
    const Json* fork = nullptr;
    for (const auto& [fork_path, project] : projects_) {
      if (std::to_string(project["id"].get<int64_t>()) == source) fork = &project;
    }
    if (fork == nullptr || !body.contains("target_project_id") || body["target_project_id"] != 1) {
      return JsonResponse(404, {{"message", "404 Project Not Found"}});
    }
    int iid = static_cast<int>(mrs_.size()) + 1;
    mrs_[iid] = body;
    mrs_[iid]["iid"] = iid;
    mrs_[iid]["state"] = "opened";
    mrs_[iid]["sha"] = "def456";
    mrs_[iid]["source_project_id"] = (*fork)["id"];
    mrs_[iid]["web_url"] =
        "https://gitlab.example.com/acme/platform/widgets/-/merge_requests/" + std::to_string(iid);
    return JsonResponse(201, mrs_[iid]);
  }
  if (request.method == "GET" && path == "/api/v4/users") {
    Json found = Json::array();
    for (const auto& [username, id] : users_) {
      if (request.url.ends_with("?username=" + username)) {
        found.push_back({{"id", id}, {"username", username}});
      }
    }
    return JsonResponse(200, found);
  }
  // GitLab answers with reviewer objects for the ids it was given.
  if (body.is_object() && body.contains("reviewer_ids")) {
    Json reviewers = Json::array();
    for (const Json& id : body["reviewer_ids"]) reviewers.push_back({{"id", id}});
    body["reviewers"] = reviewers;
  }
  if (request.method == "GET" && path == base) {
    Json list = Json::array();
    for (auto& [iid, mr] : mrs_) {
      std::string branch = mr["source_branch"].get<std::string>();
      for (size_t at = branch.find('/'); at != std::string::npos; at = branch.find('/', at)) {
        branch.replace(at, 1, "%2F");
      }
      if (mr["state"] == "opened" &&
          request.url.find("source_branch=" + branch + "&") != std::string::npos) {
        list.push_back(mr);
      }
    }
    return JsonResponse(200, list);
  }
  if (request.method == "POST" && path == base) {
    int iid = static_cast<int>(mrs_.size()) + 1;
    mrs_[iid] = body;
    mrs_[iid]["iid"] = iid;
    mrs_[iid]["state"] = "opened";
    mrs_[iid]["sha"] = "def456";
    mrs_[iid]["source_project_id"] = 1;
    mrs_[iid]["web_url"] =
        "https://gitlab.example.com/acme/platform/widgets/-/merge_requests/" + std::to_string(iid);
    return JsonResponse(201, mrs_[iid]);
  }
  if (path.starts_with(base + "/")) {
    int iid = std::atoi(path.substr(base.size() + 1).c_str());
    if (!mrs_.contains(iid)) return JsonResponse(404, {{"message", "404 Not found"}});
    if (request.method == "PUT") {
      for (auto& [key, value] : body.items()) mrs_[iid][key] = value;
    }
    return JsonResponse(200, mrs_[iid]);
  }
  return JsonResponse(404, {{"message", "404 Not found"}});
}

}  // namespace drover::testing
