// A small HTTP/1.1 server (keep-alive, Content-Length bodies, a thread per connection) on
// 127.0.0.1 or a Unix socket, for the LLM gateway and test servers. Thread-safe: the handler
// runs concurrently on connection threads; Stop() may be called from any non-handler thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/http.h"

namespace drover {

// Receives a parsed request: `url` is the request target (path and query), header names are
// lower-case. Must not throw (a throw is answered with 500).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  // Request line, headers and body together; larger requests get 413. Default 64 MiB.
  size_t max_request_bytes = size_t{64} << 20;
  // An idle keep-alive connection (or a request that stalls mid-way) is closed after this.
  // Default 120 s.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(120)};
};

class HttpServer {
 public:
  explicit HttpServer(HttpHandler handler, HttpServerOptions options = {});
  ~HttpServer();  // Stop().
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on 127.0.0.1:`port` (0 picks a free port; see port()). One listener per server.
  // Errors: kIo (socket/bind/listen), kInvalidArgument (already listening).
  Status ListenTcp(uint16_t port = 0);
  // Listens on a Unix socket at `path`, replacing a stale socket file there (any other kind
  // of file is refused with kInvalidArgument) and making it owner-only (0600).
  // Errors: kInvalidArgument (path too long, not a socket, already listening), kIo.
  Status ListenUnix(const std::filesystem::path& path);

  // The bound TCP port; 0 before ListenTcp.
  uint16_t port() const { return port_; }

  // Closes the listener and every connection, waits for all threads, removes the Unix
  // socket file. Idempotent. Handlers still running are waited for.
  void Stop();

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  Status StartListening(int fd);
  void AcceptLoop();
  void Serve(Connection& connection);
  void ReapFinished(bool all);

  HttpHandler handler_;
  HttpServerOptions options_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::optional<std::filesystem::path> unix_path_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mutex_;  // Guards connections_.
  std::list<std::unique_ptr<Connection>> connections_;
};

}  // namespace drover
