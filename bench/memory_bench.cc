// What the runner's process holds under floods: a command printing MIB MiB read through the
// process runner into a capped log file, and a loopback model server answering with a reply of
// REPLY_MIB MiB, read by the HTTP model client at its default limit and with none.
// Usage: memory_bench [MIB [REPLY_MIB]]   (defaults 1024 and 48)
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "llm/http_model_client.h"
#include "core/http.h"
#include "core/http_server.h"
#include "sandbox/process.h"

namespace {

using Clock = std::chrono::steady_clock;

// This process's peak resident size in KiB since the last ResetPeak.
long PeakKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::atol(line.c_str() + 6);
  }
  return -1;
}

long CurrentKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// Writing 5 to clear_refs resets the peak to the current size.
void ResetPeak() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const long mib = argc > 1 ? std::atol(argv[1]) : 1024;
  const long reply_mib = argc > 2 ? std::atol(argv[2]) : 48;
  auto dir =
      std::filesystem::temp_directory_path() / ("memory_bench." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);

  // A command's flood, read whole through the runner into a capped log.
  auto runner = drover::sandbox::MakeLocalProcessRunner();
  drover::sandbox::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "head -c " + std::to_string(mib) + "M /dev/zero | tr '\\0' x; echo"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.max_output_bytes = 256 * 1024;
  spec.log_file = dir / "flood.log";
  ResetPeak();
  long before = CurrentKb();
  auto start = Clock::now();
  auto ran = runner->Run(spec);
  if (!ran) {
    std::fprintf(stderr, "memory_bench: %s\n", ran.error().ToString().c_str());
    return 1;
  }
  double seconds = SecondsSince(start);
  std::printf("command output: %ld MiB in %.2f s (%.0f MiB/s)\n", mib, seconds, mib / seconds);
  std::printf("  runner peak RSS growth: %.1f MB; kept in memory: %zu bytes; log file: %ju bytes\n",
              (PeakKb() - before) * 1024 / 1e6, ran->output.size(),
              static_cast<uintmax_t>(std::filesystem::file_size(dir / "flood.log")));

  // A model reply far above the client's limit, streamed by a loopback server in pieces so that
  // the server itself holds little.
  drover::HttpServer server([reply_mib](const drover::HttpRequest&) {
    drover::HttpResponse response;
    response.status = 200;
    response.headers["content-type"] = "application/json";
    response.stream_body = [reply_mib](const drover::HttpBodyWriter& write) {
      if (!write(R"({"choices":[{"message":{"role":"assistant","content":")")) return;
      const std::string piece(64 * 1024, 'z');
      for (long sent = 0; sent < reply_mib * 16; ++sent) {
        if (!write(piece)) return;
      }
      (void)write(
          R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}})");
    };
    return response;
  });
  if (auto listening = server.ListenTcp(); !listening) {
    std::fprintf(stderr, "memory_bench: %s\n", listening.error().ToString().c_str());
    return 1;
  }
  auto http = drover::MakeCurlHttpClient();
  // At the default limit, then with none (what a client that buffers whole replies holds).
  for (size_t limit : {drover::agent::HttpModelClientOptions{}.max_reply_bytes, SIZE_MAX}) {
    drover::agent::HttpModelClientOptions options;
    options.provider = drover::agent::Provider::kOpenAiChat;
    options.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1";
    options.max_reply_bytes = limit;
    drover::agent::HttpModelClient client(options, *http);
    drover::agent::ModelRequest request;
    request.model = "bench-model";
    request.messages.push_back({drover::agent::Role::kUser, "hello", {}, "", false});
    ResetPeak();
    before = CurrentKb();
    start = Clock::now();
    auto reply = client.Complete(request);
    seconds = SecondsSince(start);
    std::string limit_text =
        limit == SIZE_MAX ? "no limit" : "a " + std::to_string(limit >> 20) + " MiB limit";
    std::printf("model reply: %ld MiB against %s in %.2f s: %s\n", reply_mib, limit_text.c_str(),
                seconds, reply ? "read" : reply.error().message.c_str());
    std::printf("  client peak RSS growth: %.1f MB\n", (PeakKb() - before) * 1024 / 1e6);
  }
  server.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
