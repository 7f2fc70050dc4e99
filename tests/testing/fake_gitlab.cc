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
