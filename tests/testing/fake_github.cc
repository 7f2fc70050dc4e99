#include "tests/testing/fake_github.h"

#include <algorithm>
#include <cstdlib>

namespace drover::testing {

HttpResponse JsonResponse(int status, const Json& body, HttpHeaders headers) {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.headers["content-type"] = "application/json; charset=utf-8";
  response.body = body.dump();
  return response;
}

HttpResponse FakeGitHub::Handle(const HttpRequest& request) {
  std::lock_guard lock(mutex_);
  Recorded recorded{request.method, request.url, request.headers, request.body};
  requests_.push_back(recorded);
  if (override_) {
    if (auto answer = override_(recorded)) return *answer;
  }
  const std::string repo = "/repos/acme/widgets";
  std::string path = request.url.substr(0, request.url.find('?'));
  std::string query = request.url.find('?') == std::string::npos
                          ? ""
                          : request.url.substr(request.url.find('?') + 1);
  Json body = request.body.empty() ? Json() : Json::parse(request.body, nullptr, false);

  if (request.method == "GET" && path == "/user") {
    return JsonResponse(200, {{"login", "drover-bot"}, {"id", 99}});
  }
  if (request.method == "POST" && path == repo + "/forks") {
    std::string owner = body.is_object() && body.contains("organization")
                            ? body["organization"].get<std::string>()
                            : std::string("drover-bot");
    std::string full_name = owner + "/widgets";
    if (!repos_.contains(full_name)) {
      repos_[full_name] = {{"full_name", full_name},
                           {"name", "widgets"},
                           {"owner", {{"login", owner}}},
                           {"fork", true},
                           {"parent", {{"full_name", "acme/widgets"}}}};
      if (fork_hook_) fork_hook_(owner, "widgets");
    }
    return JsonResponse(202, repos_[full_name]);
  }
  if (request.method == "GET" && path.starts_with("/repos/") &&
      std::count(path.begin(), path.end(), '/') == 3) {
    std::string full_name = path.substr(std::string_view("/repos/").size());
    if (repos_.contains(full_name)) return JsonResponse(200, repos_[full_name]);
    if (full_name == "acme/widgets") {
      return JsonResponse(200, {{"full_name", full_name}, {"name", "widgets"}, {"fork", false}});
    }
    return JsonResponse(404, {{"message", "Not Found"}});
  }
  if (request.method == "GET" && path == repo + "/pulls") {
    Json list = Json::array();
    for (auto& [number, pr] : pulls_) {
      if (pr["state"] == "open" &&
          query.find("head=" + pr["head"]["label"].get<std::string>() + "&") != std::string::npos) {
        list.push_back(pr);
      }
    }
    return JsonResponse(200, list);
  }
  if (request.method == "POST" && path == repo + "/pulls") {
    int number = static_cast<int>(pulls_.size()) + 1;
    // "OWNER:branch" opens a PR from OWNER's fork; a bare branch is the repository's own.
    std::string head = body["head"].get<std::string>();
    std::string label = head.find(':') == std::string::npos ? "acme:" + head : head;
    std::string ref = label.substr(label.find(':') + 1);
    pulls_[number] = {
        {"number", number},
        {"html_url", "https://github.com/acme/widgets/pull/" + std::to_string(number)},
        {"state", "open"},
        {"title", body["title"]},
        {"body", body["body"]},
        {"draft", body["draft"]},
        {"merged", false},
        {"merged_at", nullptr},
        {"user", {{"login", "drover-bot"}}},
        {"head",
         {{"ref", ref},
          {"label", label},
          {"repo", {{"full_name", label.substr(0, label.find(':')) + "/widgets"}}},
          {"sha", "abc123"}}},
        {"base", {{"ref", body["base"]}}},
        {"labels", Json::array()}};
    return JsonResponse(201, pulls_[number]);
  }
  std::string pulls_prefix = repo + "/pulls/";
  if (path.starts_with(pulls_prefix)) {
    std::string rest = path.substr(pulls_prefix.size());
    int number = std::atoi(rest.c_str());
    if (!pulls_.contains(number)) return JsonResponse(404, {{"message", "Not Found"}});
    Json& pr = pulls_[number];
    if (request.method == "GET" && rest == std::to_string(number)) return JsonResponse(200, pr);
    if (request.method == "PATCH" && rest == std::to_string(number)) {
      for (auto& [key, value] : body.items()) pr[key] = value;
      return JsonResponse(200, pr);
    }
    if (request.method == "POST" && rest.ends_with("/requested_reviewers")) {
      pr["requested_reviewers"] = body["reviewers"];
      pr["requested_teams"] = body["team_reviewers"];
      return JsonResponse(201, pr);
    }
  }
  std::string issues_prefix = repo + "/issues/";
  if (request.method == "POST" && path.starts_with(issues_prefix) && path.ends_with("/labels")) {
    int number = std::atoi(path.substr(issues_prefix.size()).c_str());
    if (!pulls_.contains(number)) return JsonResponse(404, {{"message", "Not Found"}});
    Json answer = Json::array();
    for (const auto& name : body["labels"]) pulls_[number]["labels"].push_back(name);
    for (const auto& name : pulls_[number]["labels"]) answer.push_back({{"name", name}});
    return JsonResponse(200, answer);
  }
  if (request.method == "GET" && path.ends_with("/check-runs"))
    return JsonResponse(200, check_runs_);
  if (request.method == "GET" && path.ends_with("/status")) return JsonResponse(200, status_);
  return JsonResponse(404, {{"message", "Not Found"}});
}

}  // namespace drover::testing
