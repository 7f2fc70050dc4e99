// A loopback model server for bench/fleet_latency.py: OpenAI Chat Completions over HTTP on
// 127.0.0.1, a thread per connection (drover's own HttpServer), every answer after DELAY
// seconds. Each job's conversation takes five calls: four tool calls, then finish. A server
// in C++ rather than in the driver's Python, so that the interpreter's lock and a five-deep
// accept queue are not what the benchmark measures when a hundred agents call at once.
// Prints "port N" on stdout once listening; runs until stdin closes. On exit prints "calls N".
// Usage: latency_model_server DELAY_SECONDS
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/http_server.h"
#include "core/json.h"

namespace {

using drover::HttpRequest;
using drover::HttpResponse;
using drover::Json;

// The n-th call of a job (n = assistant turns already in the conversation).
Json ReplyFor(int n) {
  static const std::pair<const char*, Json> kScript[] = {
      {"list_files", Json::object()},
      {"read_file", {{"path", "version.txt"}}},
      {"write_file", {{"path", "version.txt"}, {"content", "v2\n"}}},
      {"read_file", {{"path", "version.txt"}}},
      {"finish", {{"summary", "Bumped the version."}}},
  };
  const auto& [name, arguments] = kScript[std::min(n, 4)];
  Json call = {{"id", "call_" + std::to_string(n)},
               {"type", "function"},
               {"function", {{"name", name}, {"arguments", arguments.dump()}}}};
  return {{"id", "chatcmpl-" + std::to_string(n)},
          {"object", "chat.completion"},
          {"model", "bench"},
          {"choices",
           {{{"index", 0},
             {"finish_reason", "tool_calls"},
             {"message", {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {call}}}}}}},
          {"usage", {{"prompt_tokens", 200}, {"completion_tokens", 20}, {"total_tokens", 220}}}};
}

}  // namespace

int main(int argc, char** argv) {
  double delay = argc > 1 ? std::atof(argv[1]) : 2.0;
  std::atomic<long> calls{0};
  drover::HttpServer server([&](const HttpRequest& request) {
    HttpResponse response;
    Json body = Json::parse(request.body, nullptr, false);
    int turns = 0;
    if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
      for (const Json& message : body["messages"]) {
        turns += message.is_object() && message.value("role", "") == "assistant" ? 1 : 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    ++calls;
    response.status = 200;
    response.headers["content-type"] = "application/json";
    response.body = ReplyFor(turns).dump();
    return response;
  });
  if (auto listening = server.ListenTcp(); !listening) {
    std::fprintf(stderr, "cannot listen: %s\n", listening.error().ToString().c_str());
    return 1;
  }
  std::printf("port %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  char buffer[256];
  while (::read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
  }
  server.Stop();
  std::printf("calls %ld\n", calls.load());
  return 0;
}
