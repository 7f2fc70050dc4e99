#include "sandbox/egress_proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "sandbox/socket_pump.h"
#include "core/strings.h"

namespace drover::sandbox {
namespace {

using internal::Fd;
using internal::Pump;
using internal::SystemError;
using internal::WouldBlock;

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeadBytes = size_t{16} << 10;
constexpr auto kConnectTimeout = std::chrono::seconds(15);
constexpr auto kReplyTimeout = std::chrono::seconds(5);
// Beyond this many open connections new clients get a 503: a runaway build must not exhaust
// the runner's threads and descriptors.
constexpr size_t kMaxConnections = 256;

std::string Normalize(std::string_view host) {
  std::string name(host);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// Letters, digits, '-' and '_' in non-empty dot-separated labels: nothing a resolver could
// read as a port, a scope or a path.
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

bool RuleMatches(std::string_view rule, std::string_view name) {
  std::string normalized = Normalize(rule);
  if (normalized.starts_with("*.")) {
    std::string_view suffix = std::string_view(normalized).substr(1);  // ".example.com"
    return name.size() > suffix.size() && name.ends_with(suffix);
  }
  return normalized == name;
}

// Why the rules refuse `host`, or nothing when they allow it.
std::optional<std::string> RefusalReason(std::string_view host,
                                         const std::vector<std::string>& allowed) {
  if (allowed.empty()) return "no host is allowed";
  std::string name = Normalize(host);
  if (IsIpLiteral(name)) return "IP literal";
  if (!IsHostName(name)) return "not a host name";
  for (const std::string& rule : allowed) {
    if (RuleMatches(rule, name)) return std::nullopt;
  }
  return "not on the allowed list";
}

std::string FormatAddress(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, text,
              sizeof text);
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

std::optional<std::string_view> ForbiddenIpv4Kind(uint32_t ip) {
  if ((ip >> 24) == 0) return "unspecified";
  if ((ip >> 24) == 127) return "loopback";
  if ((ip >> 16) == 0xa9fe) return "link-local";
  if ((ip >> 28) == 0xe) return "multicast";
  if ((ip >> 28) == 0xf) return "reserved or broadcast";
  return std::nullopt;
}

// The kind of address a build must never reach through the proxy (the runner's own loopback
// services, cloud metadata on link-local), or nothing.
std::optional<std::string_view> ForbiddenKind(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ForbiddenIpv4Kind(
        ntohl(reinterpret_cast<const sockaddr_in*>(&address)->sin_addr.s_addr));
  }
  const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr;
  if (IN6_IS_ADDR_UNSPECIFIED(&ip)) return "unspecified";
  if (IN6_IS_ADDR_LOOPBACK(&ip)) return "loopback";
  if (IN6_IS_ADDR_LINKLOCAL(&ip)) return "link-local";
  if (IN6_IS_ADDR_MULTICAST(&ip)) return "multicast";
  if (IN6_IS_ADDR_V4MAPPED(&ip) || IN6_IS_ADDR_V4COMPAT(&ip)) {
    uint32_t v4 = (uint32_t{ip.s6_addr[12]} << 24) | (uint32_t{ip.s6_addr[13]} << 16) |
                  (uint32_t{ip.s6_addr[14]} << 8) | uint32_t{ip.s6_addr[15]};
    return ForbiddenIpv4Kind(v4);
  }
  return std::nullopt;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

struct Target {
  std::string host;       // As written, brackets kept for IPv6.
  uint16_t port = 0;
  std::string authority;  // host[:port] as written, for the Host header.
};

struct Request {
  bool connect = false;
  std::string method;
  Target target;
  std::string forward;  // Absolute-form only: the head to send upstream.
};

Result<Target> ParseAuthority(std::string_view authority, std::optional<uint16_t> default_port) {
  if (authority.find('@') != std::string_view::npos) {
    return Fail(ErrorCode::kParse, "user info in the request target");
  }
  size_t colon = std::string_view::npos;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Fail(ErrorCode::kParse, "unclosed '['");
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Fail(ErrorCode::kParse, "bad request target");
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
  }
  Target target;
  target.authority = std::string(authority);
  target.host = std::string(authority.substr(0, colon));
  if (target.host.empty()) return Fail(ErrorCode::kParse, "no host in the request target");
  if (colon == std::string_view::npos) {
    if (!default_port) return Fail(ErrorCode::kParse, "no port in the CONNECT target");
    target.port = *default_port;
    return target;
  }
  std::string_view digits = authority.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || digits.size() > 5 || ec != std::errc() ||
      end != digits.data() + digits.size() || port == 0 || port > 65535) {
    return Fail(ErrorCode::kParse, "bad port \"" + std::string(digits) + "\"");
  }
  target.port = static_cast<uint16_t>(port);
  return target;
}

// `head` ends with the blank line. kParse, naming the fault, for anything this proxy does not
// speak.
Result<Request> ParseRequest(std::string_view head) {
  std::vector<std::string_view> lines;
  head.remove_suffix(4);
  size_t start = 0;
  for (;;) {
    size_t end = head.find("\r\n", start);
    lines.push_back(head.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 2;
  }
  for (std::string_view line : lines) {
    if (line.find_first_of("\r\n") != std::string_view::npos || line.find('\0') != line.npos) {
      return Fail(ErrorCode::kParse, "stray CR, LF or NUL in the request head");
    }
  }
  std::string_view request_line = lines[0];
  size_t first = request_line.find(' ');
  size_t second = first == request_line.npos ? first : request_line.find(' ', first + 1);
  if (second == request_line.npos || request_line.find(' ', second + 1) != request_line.npos) {
    return Fail(ErrorCode::kParse, "malformed request line");
  }
  Request request;
  request.method = std::string(request_line.substr(0, first));
  std::string_view uri = request_line.substr(first + 1, second - first - 1);
  std::string_view version = request_line.substr(second + 1);
  if (!IsToken(request.method) || uri.empty() || version.size() != 8 ||
      !version.starts_with("HTTP/1.") || std::isdigit(static_cast<unsigned char>(version[7])) == 0) {
    return Fail(ErrorCode::kParse, "malformed request line");
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos || !IsToken(lines[i].substr(0, colon))) {
      return Fail(ErrorCode::kParse, "malformed header line");
    }
  }

  if (request.method == "CONNECT") {
    auto target = ParseAuthority(uri, std::nullopt);
    if (!target) return Fail(target.error());
    request.connect = true;
    request.target = std::move(*target);
    return request;
  }
  std::string scheme = Lower(uri.substr(0, std::min<size_t>(uri.size(), 8)));
  if (scheme.starts_with("https://")) {
    return Fail(ErrorCode::kParse, "https:// targets go through CONNECT");
  }
  if (!scheme.starts_with("http://")) {
    return Fail(ErrorCode::kParse, "not a proxy request (CONNECT or an absolute http:// URI)");
  }
  size_t path_start = uri.find_first_of("/?#", 7);
  auto target = ParseAuthority(uri.substr(7, path_start == uri.npos ? uri.npos : path_start - 7),
                               uint16_t{80});
  if (!target) return Fail(target.error());
  request.target = std::move(*target);
  std::string path(path_start == uri.npos ? "/" : uri.substr(path_start));
  path = path.substr(0, path.find('#'));
  if (!path.starts_with('/')) path.insert(0, "/");

  // Hop-by-hop and proxy headers stop here; Host comes from the URI so the upstream serves
  // the site that was checked.
  std::string& forward = request.forward;
  forward = request.method + " " + path + " " + std::string(version) + "\r\nHost: " +
            request.target.authority + "\r\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string name = Lower(lines[i].substr(0, lines[i].find(':')));
    if (name == "host" || name == "connection" || name == "keep-alive" ||
        name.starts_with("proxy-")) {
      continue;
    }
    forward.append(lines[i]).append("\r\n");
  }
  forward += "Connection: close\r\n\r\n";
  return request;
}

std::string_view StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

struct Address {
  sockaddr_storage storage;
  socklen_t length;
};

class EgressProxyImpl final : public EgressProxy {
 public:
  EgressProxyImpl(EgressProxyOptions options, Fd listener, Fd wake)
      : options_(std::move(options)), listener_(std::move(listener)), wake_(std::move(wake)) {}

  ~EgressProxyImpl() override {
    // The eventfd stays readable once written, so it wakes every poll at once.
    uint64_t one = 1;
    ssize_t written = write(wake_.get(), &one, sizeof one);
    (void)written;
    if (accept_thread_.joinable()) accept_thread_.join();
    for (Connection& connection : connections_) connection.thread.join();
    unlink(options_.socket_path.c_str());
  }

  void Begin() {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  const std::filesystem::path& socket_path() const override { return options_.socket_path; }
  int64_t allowed_count() const override { return allowed_.load(); }
  int64_t refused_count() const override { return refused_.load(); }

 private:
  enum class Wait { kReady, kTimedOut, kStopped };

  struct Connection {
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  Wait WaitFor(int fd, short events, Clock::time_point deadline) const {
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd fds[2] = {{fd, events, 0}, {wake_.get(), POLLIN, 0}};
      int ready = poll(fds, 2, static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX)));
      if (ready < 0) {
        if (errno == EINTR) continue;
        return Wait::kStopped;
      }
      if (fds[1].revents != 0) return Wait::kStopped;
      // POLLHUP and POLLERR count as ready: the caller's next call reports them.
      return ready == 0 ? Wait::kTimedOut : Wait::kReady;
    }
  }

  bool SendAll(int fd, std::string_view data, Clock::time_point deadline) const {
    while (!data.empty()) {
      ssize_t sent = send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent > 0) {
        data.remove_prefix(static_cast<size_t>(sent));
        continue;
      }
      if (sent < 0 && !WouldBlock(errno)) return false;
      if (WaitFor(fd, POLLOUT, deadline) != Wait::kReady) return false;
    }
    return true;
  }

  void Log(const std::string& line) {
    if (!options_.log) return;
    std::lock_guard lock(log_mutex_);
    options_.log(line);
  }

  void Reply(int client, int status, const std::string& reason) {
    std::string body = reason + "\n";
    std::string response = "HTTP/1.1 " + std::to_string(status) + " " +
                           std::string(StatusText(status)) +
                           "\r\nContent-Type: text/plain\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    SendAll(client, response, Clock::now() + kReplyTimeout);
  }

  void Refuse(int client, int status, const std::string& what, const std::string& reason) {
    ++refused_;
    Log("refused " + what + ": " + reason);
    Reply(client, status, reason);
  }

  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        Log(std::string("egress proxy stopped: poll: ") + std::strerror(errno));
        return;
      }
      if (fds[1].revents != 0) return;
      Fd client(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (client.get() < 0) {
        // Out of descriptors or memory: back off rather than spin on the pending client.
        if (!WouldBlock(errno) && errno != ECONNABORTED &&
            WaitFor(-1, 0, Clock::now() + std::chrono::milliseconds(100)) == Wait::kStopped) {
          return;
        }
        continue;
      }
      connections_.remove_if([](Connection& connection) {
        if (!connection.finished.load()) return false;
        connection.thread.join();
        return true;
      });
      if (connections_.size() >= kMaxConnections) {
        Reply(client.get(), 503, "too many connections");
        continue;
      }
      Connection& connection = connections_.emplace_back();
      int fd = client.release();
      try {
        connection.thread = std::thread([this, fd, &connection] {
          Serve(Fd(fd));
          connection.finished = true;
        });
      } catch (const std::system_error& error) {
        close(fd);
        connections_.pop_back();
        Log(std::string("egress proxy cannot start a thread: ") + error.what());
      }
    }
  }

  void Serve(Fd client) {
    std::string data;
    size_t head_end = std::string::npos;
    const Clock::time_point deadline = Clock::now() + options_.head_timeout;
    char chunk[4096];
    while (head_end == std::string::npos) {
      if (data.size() >= kMaxHeadBytes) {
        Refuse(client.get(), 431, "request", "request head larger than 16 KiB");
        return;
      }
      switch (WaitFor(client.get(), POLLIN, deadline)) {
        case Wait::kStopped: return;
        case Wait::kTimedOut:
          Refuse(client.get(), 408, "request", "request head not received in time");
          return;
        case Wait::kReady: break;
      }
      ssize_t got = recv(client.get(), chunk, sizeof chunk, MSG_DONTWAIT);
      if (got == 0) return;
      if (got < 0) {
        if (WouldBlock(errno)) continue;
        return;
      }
      size_t searched = data.size() >= 3 ? data.size() - 3 : 0;
      data.append(chunk, static_cast<size_t>(got));
      size_t blank = data.find("\r\n\r\n", searched);
      if (blank != std::string::npos) {
        head_end = blank + 4;
        if (head_end > kMaxHeadBytes) {
          Refuse(client.get(), 431, "request", "request head larger than 16 KiB");
          return;
        }
      }
    }

    auto request = ParseRequest(std::string_view(data).substr(0, head_end));
    if (!request) {
      Refuse(client.get(), 400, "request", request.error().message);
      return;
    }
    const Target& target = request->target;
    const std::string what =
        request->method + " " + target.host + ":" + std::to_string(target.port);
    if (auto reason = RefusalReason(target.host, options_.allowed_hosts)) {
      Refuse(client.get(), 403, what, *reason);
      return;
    }

    // The addresses checked here are the ones connected to: a second lookup could answer
    // differently (DNS rebinding).
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(Normalize(target.host).c_str(), nullptr, &hints, &found);
    if (rc != 0) {
      Log("failed " + what + ": cannot resolve: " + gai_strerror(rc));
      Reply(client.get(), 502, std::string("cannot resolve ") + target.host);
      return;
    }
    std::vector<Address> addresses;
    for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
      if ((entry->ai_family != AF_INET && entry->ai_family != AF_INET6) ||
          entry->ai_addrlen > sizeof(sockaddr_storage)) {
        continue;
      }
      Address address{};
      std::memcpy(&address.storage, entry->ai_addr, entry->ai_addrlen);
      address.length = entry->ai_addrlen;
      if (entry->ai_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&address.storage)->sin_port = htons(target.port);
      } else {
        reinterpret_cast<sockaddr_in6*>(&address.storage)->sin6_port = htons(target.port);
      }
      addresses.push_back(address);
    }
    freeaddrinfo(found);
    if (addresses.empty()) {
      Log("failed " + what + ": no IPv4 or IPv6 address");
      Reply(client.get(), 502, std::string("no address for ") + target.host);
      return;
    }
    if (!options_.allow_private_addresses) {
      for (const Address& address : addresses) {
        if (auto kind = ForbiddenKind(address.storage)) {
          Refuse(client.get(), 403, what,
                 "resolves to " + FormatAddress(address.storage) + " (" + std::string(*kind) +
                     ")");
          return;
        }
      }
    }
    ++allowed_;
    Log("allowed " + what);

    Fd upstream;
    std::string failure;
    for (const Address& address : addresses) {
      Fd attempt(socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (attempt.get() < 0) {
        failure = std::string("socket: ") + std::strerror(errno);
        continue;
      }
      int err = 0;
      if (connect(attempt.get(), reinterpret_cast<const sockaddr*>(&address.storage),
                  address.length) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
          switch (WaitFor(attempt.get(), POLLOUT, Clock::now() + kConnectTimeout)) {
            case Wait::kStopped: return;
            case Wait::kTimedOut: err = ETIMEDOUT; break;
            case Wait::kReady: {
              socklen_t length = sizeof err;
              if (getsockopt(attempt.get(), SOL_SOCKET, SO_ERROR, &err, &length) != 0) err = errno;
              break;
            }
          }
        }
      }
      if (err == 0) {
        upstream = std::move(attempt);
        break;
      }
      failure = "connecting to " + FormatAddress(address.storage) + ": " + std::strerror(err);
    }
    if (upstream.get() < 0) {
      Log("failed " + what + ": " + failure);
      Reply(client.get(), 502, "cannot connect to " + target.host);
      return;
    }

    // Bytes the client sent after its head (a request body, an eager TLS hello) go first.
    std::string_view rest = std::string_view(data).substr(head_end);
    const Clock::time_point send_deadline = Clock::now() + kConnectTimeout;
    if (request->connect) {
      if (!SendAll(client.get(), "HTTP/1.1 200 Connection established\r\n\r\n", send_deadline)) {
        return;
      }
      if (!SendAll(upstream.get(), rest, send_deadline)) return;
    } else {
      if (!SendAll(upstream.get(), request->forward + std::string(rest), send_deadline)) return;
    }
    Pump(client.get(), upstream.get(), wake_.get());
  }

  EgressProxyOptions options_;
  Fd listener_;
  Fd wake_;
  std::atomic<int64_t> allowed_{0};
  std::atomic<int64_t> refused_{0};
  std::mutex log_mutex_;
  std::thread accept_thread_;
  std::list<Connection> connections_;  // Touched by the accept thread, then the destructor.
};

}  // namespace

bool IsIpLiteral(const std::string& host) {
  std::string text = host;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  in_addr v4{};
  in6_addr v6{};
  return inet_aton(text.c_str(), &v4) != 0 || inet_pton(AF_INET6, text.c_str(), &v6) == 1;
}

bool HostAllowed(const std::string& host, const std::vector<std::string>& allowed) {
  return !RefusalReason(host, allowed).has_value();
}

Result<std::unique_ptr<EgressProxy>> EgressProxy::Start(EgressProxyOptions options) {
  for (const std::string& rule : options.allowed_hosts) {
    std::string normalized = Normalize(rule);
    std::string_view name = normalized;
    if (name.starts_with("*.")) name.remove_prefix(2);
    if (!IsHostName(name) || (name == normalized && IsIpLiteral(normalized))) {
      return Fail(ErrorCode::kInvalidArgument,
                  "allowed host \"" + rule + "\" can never match: give a host name or *.suffix");
    }
  }
  const std::string path = options.socket_path.string();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return Fail(ErrorCode::kInvalidArgument, "egress proxy socket path is empty or too long: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size());
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return Fail(ErrorCode::kIo, path + " exists and is not a socket");
    }
    if (unlink(path.c_str()) != 0) return Fail(SystemError("removing stale " + path));
  }
  Fd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (listener.get() < 0) return Fail(SystemError("socket"));
  if (bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Fail(SystemError("binding " + path));
  }
  // Nobody can connect before listen(), so the mode is tightened before anyone could.
  if (chmod(path.c_str(), 0600) != 0) {
    Error error = SystemError("chmod " + path);
    unlink(path.c_str());
    return Fail(error);
  }
  if (listen(listener.get(), 128) != 0) {
    Error error = SystemError("listen " + path);
    unlink(path.c_str());
    return Fail(error);
  }
  Fd wake(eventfd(0, EFD_CLOEXEC));
  if (wake.get() < 0) {
    Error error = SystemError("eventfd");
    unlink(path.c_str());
    return Fail(error);
  }
  auto proxy =
      std::make_unique<EgressProxyImpl>(std::move(options), std::move(listener), std::move(wake));
  try {
    proxy->Begin();
  } catch (const std::system_error& error) {
    return Fail(ErrorCode::kIo, std::string("starting the egress proxy thread: ") + error.what());
  }
  return proxy;
}

}  // namespace drover::sandbox
