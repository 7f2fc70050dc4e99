// A scripted model provider on a real loopback HTTP server, speaking OpenAI Chat Completions,
// the Responses API and Anthropic Messages (as JSON, or as server-sent events when a request
// asks for a stream), that records every request it receives.
// Thread-safe: script it and inspect it from any thread while it serves.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <variant>
#include <string_view>
#include <vector>

#include "llm/model.h"
#include "core/http.h"
#include "core/http_server.h"

namespace drover::testing {

class ScriptedModelServer {
 public:
  struct Received {
    std::string method;
    std::string path;  // The request target, e.g. "/v1/messages".
    HttpHeaders headers;
    std::string body;
    std::string model;  // The model the body names; empty when it does not decode.
  };

  // Starts listening on 127.0.0.1 on a free port (a failure fails the test).
  ScriptedModelServer();
  ~ScriptedModelServer();
  ScriptedModelServer(const ScriptedModelServer&) = delete;
  ScriptedModelServer& operator=(const ScriptedModelServer&) = delete;

  // Queues a reply, rendered in the protocol of the request that takes it, after `delay`.
  void AddReply(agent::ModelReply reply,
                std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // In every scripted answer (raw bodies, reply texts and tool-call arguments), these
  // placeholders stand for the credential the request carried (its Authorization bearer
  // token or x-api-key), as a provider that quotes a bad key does: {credential} as is,
  // {credential_json} JSON-escaped, {credential_percent} percent-encoded and
  // {credential_base64} in base64.
  // Queues a raw answer (429 with retry-after, 500, a garbage 200...), after `delay`.
  void AddResponse(HttpResponse response,
                   std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Answers every request naming `model` with `response`, before and without touching the
  // script: a model that is down while others serve.
  void FailModel(std::string model, HttpResponse response);
  // Queues a reply that, streamed, stops after its first event for `stall` before going on
  // (a stalled stream); unstreamed, it is sent after `stall`.
  void AddStalledReply(agent::ModelReply reply, std::chrono::milliseconds stall);

  std::vector<Received> requests() const;
  size_t pending_steps() const;

  uint16_t port() const { return server_.port(); }
  std::string OpenAiBaseUrl() const;     // "http://127.0.0.1:PORT/v1"
  std::string AnthropicBaseUrl() const;  // "http://127.0.0.1:PORT"

 private:
  struct Step {
    std::variant<agent::ModelReply, HttpResponse> answer;
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds stall{0};  // Streamed replies: pause after the first event.
  };

  // Writes `events` (server-sent events text) one event per chunk.
  void StreamEvents(const std::string& events, std::chrono::milliseconds stall,
                    const HttpBodyWriter& write);

  HttpResponse Handle(const HttpRequest& request);

  mutable std::mutex mutex_;
  std::condition_variable stopped_;  // Wakes delayed answers on shutdown.
  bool stopping_ = false;
  std::deque<Step> script_;
  std::map<std::string, HttpResponse> failing_models_;
  std::vector<Received> received_;
  HttpServer server_;  // Last: stopped first, while the state above still exists.
};

}  // namespace drover::testing
