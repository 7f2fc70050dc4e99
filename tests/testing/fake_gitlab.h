// A loopback fake of GitLab's merge request API for tests of the GitLab forge and of runs that
// publish through it, over real HTTP (Recorded and JsonResponse are fake_github.h's).
// Thread-safe: the handler and the accessors share one mutex.
#pragma once

#include <cstdint>
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
#include "tests/testing/fake_github.h"

namespace drover::testing {

// A loopback stand-in for GitLab's merge request API (under /api/v4) for one project,
// acme/platform/widgets (id 1), and its user search; records every request. The token's user
// is drover-bot (GET /user); forks of the project (POST .../fork, optional namespace_path)
// get ids from 2 and accept merge requests into it (POST /projects/ID/merge_requests).
class FakeGitLab {
 public:
  using Override = std::function<std::optional<HttpResponse>(const Recorded&)>;
  // Called (under the fake's lock) with a new fork's path ("drover-bot/widgets").
  using ForkHook = std::function<void(const std::string& path)>;

  FakeGitLab() : server_([this](const HttpRequest& request) { return Handle(request); }) {}
  Status Start() { return server_.ListenTcp(); }
  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  void SetOverride(Override fn) {
    std::lock_guard lock(mutex_);
    override_ = std::move(fn);
  }
  void Set(int iid, const std::string& key, Json value) {
    std::lock_guard lock(mutex_);
    mrs_[iid][key] = std::move(value);
  }
  Json Mr(int iid) {
    std::lock_guard lock(mutex_);
    return mrs_.contains(iid) ? mrs_[iid] : Json();
  }
  // A user that GET /users?username= finds, and that MRs list as a reviewer by id.
  void AddUser(const std::string& username, int64_t id) {
    std::lock_guard lock(mutex_);
    users_[username] = id;
  }
  size_t Count() {
    std::lock_guard lock(mutex_);
    return mrs_.size();
  }
  void SetForkHook(ForkHook fn) {
    std::lock_guard lock(mutex_);
    fork_hook_ = std::move(fn);
  }
  // A project GET /projects/<escaped path> answers with `project`.
  void AddProject(const std::string& path, Json project) {
    std::lock_guard lock(mutex_);
    projects_[path] = std::move(project);
  }
  std::vector<Recorded> Requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  HttpResponse Handle(const HttpRequest& request);

  std::mutex mutex_;
  std::vector<Recorded> requests_;
  std::map<int, Json> mrs_;
  std::map<std::string, int64_t> users_;
  std::map<std::string, Json> projects_;  // Forks and added projects, by path.
  ForkHook fork_hook_;
  Override override_;
  HttpServer server_;
};

}  // namespace drover::testing
