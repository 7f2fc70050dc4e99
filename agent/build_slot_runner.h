// The agent's side of the runner's build slots: a ProcessRunner that takes a build slot from
// the gateway (POST /drover/build-slot/acquire on the gateway socket) before each command of
// the run and verify tools, and gives it back after, so that agents waiting on the model hold
// none and the machine is never oversubscribed. Where the gateway has no slot pool (404, or a
// `drover agent` started by hand against another server), commands run without waiting.
// Not thread-safe: one agent loop owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/http.h"
#include "sandbox/process.h"

namespace drover::agent {

class BuildSlotProcessRunner final : public sandbox::ProcessRunner {
 public:
  // `inner` and `http` must outlive this runner.
  BuildSlotProcessRunner(sandbox::ProcessRunner& inner, HttpClient& http,
                         std::string gateway_socket);

  Result<sandbox::ProcessResult> Run(const sandbox::ProcessSpec& spec) override;

 private:
  // The lease, or nullopt when there is no pool to wait for.
  std::optional<int64_t> Acquire();
  void Release(int64_t lease);
  HttpRequest Request(const std::string& path, std::string body) const;

  sandbox::ProcessRunner& inner_;
  HttpClient& http_;
  std::string socket_;
  bool no_pool_ = false;  // The gateway said it has none: stop asking.
};

}  // namespace drover::agent
