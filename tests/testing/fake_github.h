// A loopback fake of GitHub's REST API (pull requests, labels, reviewers, checks) for tests of
// the GitHub forge and of runs that publish through it. It implements the real protocol over
// real HTTP. Thread-safe: the handler and the accessors share one mutex.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "core/http_server.h"
#include "core/json.h"

namespace drover::testing {

struct Recorded {
  std::string method;
  std::string path;  // With the query.
  HttpHeaders headers;
  std::string body;
};

// A JSON answer with GitHub's content type.
HttpResponse JsonResponse(int status, const Json& body, HttpHeaders headers = {});

// A loopback stand-in for api.github.com that keeps pull requests for one repository
// (acme/widgets), records every request, and lets a test answer any request itself first.
// The token's user is drover-bot (GET /user). Forks of acme/widgets (POST .../forks, with
// an optional organization) are kept as repositories GET /repos/OWNER/NAME finds; a test
// may add other repositories with AddRepository.
class FakeGitHub {
 public:
  using Override = std::function<std::optional<HttpResponse>(const Recorded&)>;
  // Called (under the fake's lock) when a fork is made: owner and name of the new fork.
  using ForkHook = std::function<void(const std::string& owner, const std::string& name)>;

  FakeGitHub() : server_([this](const HttpRequest& request) { return Handle(request); }) {}

  Status Start() { return server_.ListenTcp(); }
  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

  void SetOverride(Override fn) {
    std::lock_guard lock(mutex_);
    override_ = std::move(fn);
  }
  void SetChecks(Json check_runs, Json status) {
    std::lock_guard lock(mutex_);
    check_runs_ = std::move(check_runs);
    status_ = std::move(status);
  }
  void SetPullField(int number, const std::string& key, Json value) {
    std::lock_guard lock(mutex_);
    pulls_[number][key] = std::move(value);
  }
  void SetForkHook(ForkHook fn) {
    std::lock_guard lock(mutex_);
    fork_hook_ = std::move(fn);
  }
  // A repository GET /repos/FULL_NAME answers with `repo` (e.g. one that is not a fork).
  void AddRepository(const std::string& full_name, Json repo) {
    std::lock_guard lock(mutex_);
    repos_[full_name] = std::move(repo);
  }
  std::vector<Recorded> Requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  Json Pull(int number) {
    std::lock_guard lock(mutex_);
    return pulls_.contains(number) ? pulls_[number] : Json();
  }
  size_t PullCount() {
    std::lock_guard lock(mutex_);
    return pulls_.size();
  }

 private:
  HttpResponse Handle(const HttpRequest& request);

  std::mutex mutex_;
  std::vector<Recorded> requests_;
  std::map<int, Json> pulls_;
  std::map<std::string, Json> repos_;  // By full name.
  ForkHook fork_hook_;
  Json check_runs_ = {{"total_count", 0}, {"check_runs", Json::array()}};
  Json status_ = {{"state", "pending"}, {"statuses", Json::array()}};
  Override override_;
  HttpServer server_;  // Last: stopped first, before the state its handler uses.
};

}  // namespace drover::testing
