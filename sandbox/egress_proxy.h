// Egress for sandboxed builds that must download dependencies: an HTTP(S) proxy in the runner
// that lets through only the host names a migration allows, reached from inside the sandbox
// through a Unix socket bound into it, and the relay inside the sandbox that makes that socket
// look like an ordinary proxy on 127.0.0.1 to the build tools.
//
// The proxy speaks HTTP/1.1 CONNECT (for HTTPS) and absolute-form requests (`GET http://...`).
// It refuses (403, with a one-line reason in the body and the log) a host that is not listed,
// any IP literal (also the forms inet_aton accepts, like "127.1" or "2130706433"), a name that
// resolves to a loopback, link-local, unspecified, multicast or reserved address (unless
// allow_private_addresses, for tests), and every request when the list is empty. The address
// it connects to is the one it checked (no second lookup). Any port 1..65535 is let through:
// the host list is the policy. An absolute-form request is sent on in origin-form with its Host
// header set from the URI, Proxy-* headers dropped and `Connection: close`, so one connection
// carries one request. Thread-safe.
#pragma once

#include <chrono>
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
  // How long a client may take to send its request head (at most 16 KiB) before a 408.
  std::chrono::milliseconds head_timeout{30000};
  // Called for each decision, e.g. "allowed CONNECT pypi.org:443" or
  // "refused CONNECT 10.0.0.1:443: IP literal", and "failed ..." when an allowed host cannot
  // be resolved or reached (502); from the proxy's threads, one call at a time.
  std::function<void(const std::string&)> log;
};

class EgressProxy {
 public:
  // Starts listening, replacing a stale socket file; kIo when the socket cannot be made,
  // kInvalidArgument for a rule that could never match (an IP literal, "*", "a.*.com").
  static Result<std::unique_ptr<EgressProxy>> Start(EgressProxyOptions options);
  virtual ~EgressProxy() = default;  // Stops, closes every tunnel and removes the socket.
  virtual const std::filesystem::path& socket_path() const = 0;
  // Requests that passed every check (whether or not the upstream then answered).
  virtual int64_t allowed_count() const = 0;
  // Requests answered 4xx: refused by the rules, malformed, oversized or too slow.
  virtual int64_t refused_count() const = 0;
};

// Whether `host` (no port) is on `allowed` by the rules above; IP literals never are.
bool HostAllowed(const std::string& host, const std::vector<std::string>& allowed);
// True for any text inet_aton or inet_pton(AF_INET6) accepts, with or without brackets.
bool IsIpLiteral(const std::string& host);

// The relay inside the sandbox: a TCP socket listening on 127.0.0.1:port (the caller's network
// namespace; port 0 picks a free one, see getsockname). Each accepted connection is joined byte
// for byte to a new connection to `unix_socket`, in a child process of its own. ServeRelay
// never returns; run it in its own process. It uses only async-signal-safe calls, so it may
// run in a child forked from a threaded process; it _exits 2 when `unix_socket` is too long.
Result<int> ListenLoopback(uint16_t port);
[[noreturn]] void ServeRelay(int listen_fd, const std::filesystem::path& unix_socket);

}  // namespace drover::sandbox
