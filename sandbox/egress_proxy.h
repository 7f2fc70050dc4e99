// Egress for sandboxed builds that must download dependencies: an HTTP(S) proxy in the runner
// that lets through only the host names a migration allows, reached from inside the sandbox
// through a Unix socket bound into it, and the relay inside the sandbox that makes that socket
// look like an ordinary proxy on 127.0.0.1 to the build tools.
//
// The proxy speaks HTTP/1.1 CONNECT (for HTTPS) and absolute-form requests (`GET http://...`).
// It refuses (403, with a one-line reason in the body and the log) a host that is not listed,
// any IP literal (also the forms inet_aton accepts, like "127.1" or "2130706433"), a name that
// resolves to a loopback, link-local, unspecified or multicast address (unless
// allow_private_addresses, for tests), and every request when the list is empty. The address
// it connects to is the one it checked (no second lookup). Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace drover::sandbox {

struct EgressProxyOptions {
  std::filesystem::path socket_path;  // Unix socket to listen on (created; 0600).
  // Exact host names ("repo.maven.apache.org") or one-level-or-deeper wildcards
  // ("*.pythonhosted.org" matches "files.pythonhosted.org", not "pythonhosted.org").
  // Compared case-insensitively, without a trailing dot. Empty: everything is refused.
  std::vector<std::string> allowed_hosts;
  bool allow_private_addresses = false;  // Tests only: let names resolve to 127.0.0.1.
  // Called for each decision, e.g. "allowed CONNECT pypi.org:443" or
  // "refused CONNECT 10.0.0.1:443: IP literal"; from the proxy's threads.
  std::function<void(const std::string&)> log;
};

class EgressProxy {
 public:
  // Starts listening; kIo when the socket cannot be made.
  static Result<std::unique_ptr<EgressProxy>> Start(EgressProxyOptions options);
  virtual ~EgressProxy() = default;  // Stops and closes every tunnel.
  virtual const std::filesystem::path& socket_path() const = 0;
  virtual int64_t allowed_count() const = 0;
  virtual int64_t refused_count() const = 0;
};

// Whether `host` (no port) is on `allowed` by the rules above; IP literals never are.
bool HostAllowed(const std::string& host, const std::vector<std::string>& allowed);
// True for any text inet_aton or inet_pton(AF_INET6) accepts, with or without brackets.
bool IsIpLiteral(const std::string& host);

// The relay inside the sandbox: a TCP socket listening on 127.0.0.1:port (the caller's network
// namespace). Each accepted connection is joined byte for byte to a new connection to
// `unix_socket`. ServeRelay never returns; run it in its own process.
Result<int> ListenLoopback(uint16_t port);
[[noreturn]] void ServeRelay(int listen_fd, const std::filesystem::path& unix_socket);

}  // namespace drover::sandbox
