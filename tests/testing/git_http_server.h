// A git smart-HTTP server on a loopback address for tests: git's own `git http-backend` run as a
// CGI behind HTTP Basic authentication, serving the bare repositories under a root directory
// (http://127.0.0.1:PORT/NAME.git). Accepts chunked request bodies, as libgit2 sends on push.
// Thread-safe: a thread per (keep-alive) connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace drover::testing {

class GitHttpServer {
 public:
  // Every request must carry `username`:`password` as Basic credentials; others get 401.
  GitHttpServer(std::filesystem::path root, std::string username, std::string password);
  ~GitHttpServer();  // Stop().
  GitHttpServer(const GitHttpServer&) = delete;
  GitHttpServer& operator=(const GitHttpServer&) = delete;

  // Listens on a free port of `address` (a 127.0.0.0/8 address). Errors: kIo.
  Status Start(const std::string& address = "127.0.0.1");
  void Stop();

  // http://ADDRESS:PORT/<path>, e.g. Url("acme/widgets.git").
  std::string Url(const std::string& path) const;
  // Requests answered 401 (no or wrong credentials) and served through git http-backend.
  int refused() const { return refused_; }
  int served() const { return served_; }

 private:
  class Reader;
  void AcceptLoop();
  // Serves one request; false once the connection is done.
  bool Serve(int fd, Reader& reader);

  std::filesystem::path root_;
  std::string expected_authorization_;  // "Basic <base64(user:password)>".
  std::string username_;
  std::string address_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> refused_{0};
  std::atomic<int> served_{0};
  std::thread thread_;
  std::mutex mutex_;  // Guards the two below.
  std::set<int> open_fds_;
  std::vector<std::thread> connections_;
};

}  // namespace drover::testing
