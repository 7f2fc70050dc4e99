#include "agent/build_slot_runner.h"

#include "core/json.h"

namespace drover::agent {

BuildSlotProcessRunner::BuildSlotProcessRunner(sandbox::ProcessRunner& inner, HttpClient& http,
                                               std::string gateway_socket)
    : inner_(inner), http_(http), socket_(std::move(gateway_socket)) {}

Result<sandbox::ProcessResult> BuildSlotProcessRunner::Run(const sandbox::ProcessSpec& spec) {
  auto lease = Acquire();
  auto result = inner_.Run(spec);
  if (lease) Release(*lease);
  return result;
}

HttpRequest BuildSlotProcessRunner::Request(const std::string& path, std::string body) const {
  HttpRequest request;
  request.method = "POST";
  request.url = "http://gateway" + path;
  request.headers["content-type"] = "application/json";
  request.body = std::move(body);
  request.unix_socket = socket_;
  request.timeout = std::chrono::seconds(90);  // The gateway answers within 30 s.
  return request;
}

std::optional<int64_t> BuildSlotProcessRunner::Acquire() {
  // The gateway answers {"lease": null} when its wait ran out; a slot may take a while.
  while (!no_pool_ && !socket_.empty()) {
    auto response = http_.Send(Request("/drover/build-slot/acquire", "{}"));
    if (!response || response->status != 200) break;
    auto body = ParseJson(response->body, "build-slot reply");
    if (!body || !body->is_object() || !body->contains("lease")) break;
    if ((*body)["lease"].is_number_integer()) return (*body)["lease"].get<int64_t>();
  }
  // No pool (or one that cannot be asked): the runner's own checks still bound the machine,
  // and a missing slot must not stop the agent.
  no_pool_ = true;
  return std::nullopt;
}

void BuildSlotProcessRunner::Release(int64_t lease) {
  // A lease that cannot be returned is taken back by the runner when the attempt ends.
  (void)http_.Send(Request("/drover/build-slot/release", Json{{"lease", lease}}.dump()));
}

}  // namespace drover::agent
