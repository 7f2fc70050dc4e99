#include "sandbox/egress_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/testing.h"

namespace drover::sandbox {
namespace {

using drover::testing::TempDir;

void SetReceiveTimeout(int fd) {
  timeval timeout{};
  timeout.tv_sec = 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

int ConnectUnix(const std::filesystem::path& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << std::strerror(errno);
  SetReceiveTimeout(fd);
  return fd;
}

int ConnectTcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << std::strerror(errno);
  SetReceiveTimeout(fd);
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

void SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t sent = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    ASSERT_GT(sent, 0) << std::strerror(errno);
    done += static_cast<size_t>(sent);
  }
}

// Reads until the peer closes (or resets, or 10 s pass).
std::string ReadToEnd(int fd) {
  std::string data;
  char chunk[4096];
  for (;;) {
    ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return data;
    data.append(chunk, static_cast<size_t>(got));
  }
}

std::string ReadExactly(int fd, size_t n) {
  std::string data(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t got = recv(fd, data.data() + done, n - done, 0);
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  data.resize(done);
  return data;
}

// Byte by byte, so nothing after the head is consumed.
std::string ReadHead(int fd) {
  std::string head;
  char c;
  while (!head.ends_with("\r\n\r\n") && recv(fd, &c, 1, 0) == 1) head.push_back(c);
  return head;
}

// A loopback TCP server handling one connection at a time on its own thread.
class TcpServer {
 public:
  explicit TcpServer(std::function<void(int)> handler) : handler_(std::move(handler)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    port_ = LocalPort(fd_);
    thread_ = std::thread([this] {
      for (;;) {
        int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;  // shutdown() in the destructor.
        ++accepted_;
        SetReceiveTimeout(client);
        handler_(client);
        close(client);
      }
    });
  }
  ~TcpServer() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  std::function<void(int)> handler_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

void Echo(int fd) {
  char chunk[4096];
  for (;;) {
    ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return;
    if (send(fd, chunk, static_cast<size_t>(got), MSG_NOSIGNAL) != got) return;
  }
}

// Collects the proxy's log lines.
struct LogLines {
  std::mutex mutex;
  std::vector<std::string> lines;

  std::function<void(const std::string&)> Sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
  }
  bool Contains(const std::string& text) {
    std::lock_guard lock(mutex);
    for (const auto& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

class EgressProxyTest : public ::testing::Test {
 protected:
  std::unique_ptr<EgressProxy> StartProxy(std::vector<std::string> allowed,
                                          bool allow_private = true) {
    EgressProxyOptions options;
    options.socket_path = dir_ / "proxy.sock";
    options.allowed_hosts = std::move(allowed);
    options.allow_private_addresses = allow_private;
    options.head_timeout = head_timeout_;
    options.log = log_.Sink();
    auto proxy = EgressProxy::Start(std::move(options));
    EXPECT_TRUE(proxy.has_value()) << proxy.error().ToString();
    return proxy ? std::move(*proxy) : nullptr;
  }

  // Sends `request` on a fresh connection and returns everything the proxy answers.
  std::string Exchange(const EgressProxy& proxy, const std::string& request) {
    int fd = ConnectUnix(proxy.socket_path());
    SendAll(fd, request);
    std::string response = ReadToEnd(fd);
    close(fd);
    return response;
  }

  TempDir dir_;
  LogLines log_;
  std::chrono::milliseconds head_timeout_{30000};
};

TEST_F(EgressProxyTest, ConnectTunnelsBytesBothWays) {
  TcpServer upstream(Echo);
  auto proxy = StartProxy({"localhost"});
  ASSERT_NE(proxy, nullptr);
  int fd = ConnectUnix(proxy->socket_path());
  std::string target = "localhost:" + std::to_string(upstream.port());
  // Bytes sent right behind the head (as an eager TLS client does) are not lost.
  SendAll(fd, "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\nearly");
  EXPECT_EQ(ReadHead(fd), "HTTP/1.1 200 Connection established\r\n\r\n");
  EXPECT_EQ(ReadExactly(fd, 5), "early");

  // More than the socket buffers hold, written while reading, so back-pressure is exercised.
  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + i / 251);
  std::thread writer([&] { SendAll(fd, payload); });
  std::string echoed = ReadExactly(fd, payload.size());
  writer.join();
  EXPECT_TRUE(echoed == payload) << "echoed " << echoed.size() << " bytes";

  // A half-close travels through: the echo server sees EOF and closes, and so do we.
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(ReadToEnd(fd), "");
  close(fd);
  EXPECT_EQ(upstream.accepted(), 1);
  EXPECT_EQ(proxy->allowed_count(), 1);
  EXPECT_EQ(proxy->refused_count(), 0);
  EXPECT_TRUE(log_.Contains("allowed CONNECT localhost:" + std::to_string(upstream.port())));
}

TEST_F(EgressProxyTest, AbsoluteFormReachesUpstreamInOriginForm) {
  std::mutex mutex;
  std::string received;
  TcpServer upstream([&](int fd) {
    std::string request = ReadHead(fd);
    request += ReadExactly(fd, 4);  // The body: Content-Length 4.
    {
      std::lock_guard lock(mutex);
      received = request;
    }
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  });
  auto proxy = StartProxy({"*.example.org", "localhost"});
  ASSERT_NE(proxy, nullptr);
  std::string authority = "LocalHost:" + std::to_string(upstream.port());
  std::string response =
      Exchange(*proxy, "POST http://" + authority + "/path/x?q=1 HTTP/1.1\r\n"
                       "Host: elsewhere.example\r\n"
                       "Proxy-Connection: keep-alive\r\n"
                       "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
                       "Connection: keep-alive\r\n"
                       "Content-Length: 4\r\n"
                       "X-Test: yes\r\n"
                       "\r\n"
                       "body");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_TRUE(response.ends_with("\r\n\r\nhello")) << response;

  std::lock_guard lock(mutex);
  EXPECT_TRUE(received.starts_with("POST /path/x?q=1 HTTP/1.1\r\n")) << received;
  EXPECT_NE(received.find("\r\nHost: " + authority + "\r\n"), std::string::npos) << received;
  EXPECT_EQ(received.find("elsewhere"), std::string::npos) << received;
  EXPECT_EQ(received.find("Proxy-"), std::string::npos) << received;
  EXPECT_EQ(received.find("keep-alive"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\nConnection: close\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\nX-Test: yes\r\n"), std::string::npos) << received;
  EXPECT_TRUE(received.ends_with("\r\n\r\nbody")) << received;
  EXPECT_EQ(proxy->allowed_count(), 1);
}

TEST_F(EgressProxyTest, RefusesHostNotOnTheList) {
  auto proxy = StartProxy({"example.com", "*.pythonhosted.org"});
  ASSERT_NE(proxy, nullptr);
  std::string response = Exchange(*proxy, "CONNECT other.org:443 HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 403 Forbidden\r\n")) << response;
  EXPECT_TRUE(response.ends_with("\r\n\r\nnot on the allowed list\n")) << response;
  response = Exchange(*proxy, "GET http://pythonhosted.org/simple/ HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 403 Forbidden\r\n")) << response;
  EXPECT_EQ(proxy->refused_count(), 2);
  EXPECT_EQ(proxy->allowed_count(), 0);
  EXPECT_TRUE(log_.Contains("refused CONNECT other.org:443: not on the allowed list"));
  EXPECT_TRUE(log_.Contains("refused GET pythonhosted.org:80: not on the allowed list"));
}

TEST_F(EgressProxyTest, RefusesIpLiteralsWhateverTheList) {
  TcpServer upstream(Echo);
  auto proxy = StartProxy({"*.1", "*.0.0.1", "*.com", "localhost"});
  ASSERT_NE(proxy, nullptr);
  std::string port = std::to_string(upstream.port());
  for (std::string host : {"127.0.0.1", "127.1", "2130706433", "[::1]", "0x7f000001", "0x7f.1",
                           "127.0.0.1.", "[::ffff:127.0.0.1]"}) {
    std::string response = Exchange(*proxy, "CONNECT " + host + ":" + port + " HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(response.starts_with("HTTP/1.1 403 Forbidden\r\n")) << host << ": " << response;
    EXPECT_TRUE(response.ends_with("IP literal\n")) << host << ": " << response;
  }
  std::string response = Exchange(*proxy, "GET http://127.1:" + port + "/ HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 403 Forbidden\r\n")) << response;
  EXPECT_EQ(upstream.accepted(), 0);
  EXPECT_EQ(proxy->refused_count(), 9);
  EXPECT_TRUE(log_.Contains("refused CONNECT 127.1:" + port + ": IP literal"));
}

TEST_F(EgressProxyTest, EmptyListRefusesEverything) {
  TcpServer upstream(Echo);
  auto proxy = StartProxy({});
  ASSERT_NE(proxy, nullptr);
  std::string response = Exchange(
      *proxy, "CONNECT localhost:" + std::to_string(upstream.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 403 Forbidden\r\n")) << response;
  EXPECT_TRUE(response.ends_with("no host is allowed\n")) << response;
  EXPECT_EQ(upstream.accepted(), 0);
}

TEST_F(EgressProxyTest, NameResolvingToLoopbackIsRefused) {
  TcpServer upstream(Echo);
  auto proxy = StartProxy({"localhost"}, /*allow_private=*/false);
  ASSERT_NE(proxy, nullptr);
  std::string port = std::to_string(upstream.port());
  std::string response = Exchange(*proxy, "CONNECT localhost:" + port + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 403 Forbidden\r\n")) << response;
  EXPECT_NE(response.find("(loopback)"), std::string::npos) << response;
  EXPECT_EQ(upstream.accepted(), 0);
  EXPECT_EQ(proxy->allowed_count(), 0);
  EXPECT_TRUE(log_.Contains("refused CONNECT localhost:" + port + ": resolves to"));
}

TEST_F(EgressProxyTest, MalformedRequestsGet400) {
  auto proxy = StartProxy({"localhost"});
  ASSERT_NE(proxy, nullptr);
  const std::vector<std::string> requests = {
      "HELLO\r\n\r\n",
      "GET /relative HTTP/1.1\r\nHost: localhost\r\n\r\n",
      "GET https://localhost/ HTTP/1.1\r\n\r\n",
      "CONNECT localhost HTTP/1.1\r\n\r\n",
      "CONNECT localhost:0 HTTP/1.1\r\n\r\n",
      "CONNECT localhost:70000 HTTP/1.1\r\n\r\n",
      "CONNECT localhost:443 HTTP/2.0\r\n\r\n",
      "CONNECT user@localhost:443 HTTP/1.1\r\n\r\n",
      "CONNECT localhost:443 HTTP/1.1\r\nno colon here\r\n\r\n",
      "CONNECT localhost:443 HTTP/1.1\r\nX-A: a\nHost: b\r\n\r\n",
      "CONNECT  localhost:443 HTTP/1.1\r\n\r\n",
  };
  for (const std::string& request : requests) {
    std::string response = Exchange(*proxy, request);
    EXPECT_TRUE(response.starts_with("HTTP/1.1 400 Bad Request\r\n")) << request << response;
  }
  EXPECT_EQ(proxy->refused_count(), static_cast<int64_t>(requests.size()));
  EXPECT_EQ(proxy->allowed_count(), 0);
}

TEST_F(EgressProxyTest, OversizeHeadIsRefusedAndTheNextClientServed) {
  TcpServer upstream(Echo);
  auto proxy = StartProxy({"localhost"});
  ASSERT_NE(proxy, nullptr);
  std::string target = "localhost:" + std::to_string(upstream.port());
  std::string response = Exchange(
      *proxy, "CONNECT " + target + " HTTP/1.1\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 431 ")) << response;
  EXPECT_EQ(upstream.accepted(), 0);

  int fd = ConnectUnix(proxy->socket_path());
  SendAll(fd, "CONNECT " + target + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadHead(fd), "HTTP/1.1 200 Connection established\r\n\r\n");
  SendAll(fd, "ping");
  EXPECT_EQ(ReadExactly(fd, 4), "ping");
  close(fd);
  EXPECT_EQ(proxy->refused_count(), 1);
  EXPECT_EQ(proxy->allowed_count(), 1);
}

TEST_F(EgressProxyTest, SlowHeadTimesOut) {
  head_timeout_ = std::chrono::milliseconds(200);
  auto proxy = StartProxy({"localhost"});
  ASSERT_NE(proxy, nullptr);
  auto start = std::chrono::steady_clock::now();
  std::string response = Exchange(*proxy, "CONNECT localhost:443 HTTP/1.1\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 408 ")) << response;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(proxy->refused_count(), 1);
}

TEST_F(EgressProxyTest, DestructorWithAnOpenTunnelReturnsPromptly) {
  TcpServer upstream(Echo);
  auto proxy = StartProxy({"localhost"});
  ASSERT_NE(proxy, nullptr);
  std::filesystem::path socket = proxy->socket_path();
  int fd = ConnectUnix(socket);
  SendAll(fd, "CONNECT localhost:" + std::to_string(upstream.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadHead(fd), "HTTP/1.1 200 Connection established\r\n\r\n");
  SendAll(fd, "ping");
  EXPECT_EQ(ReadExactly(fd, 4), "ping");
  // A second client that has not finished its head.
  int idle = ConnectUnix(socket);
  SendAll(idle, "CONNECT local");

  auto start = std::chrono::steady_clock::now();
  proxy.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(ReadToEnd(fd), "");  // The tunnel was closed, not left to the client.
  EXPECT_EQ(ReadToEnd(idle), "");
  EXPECT_FALSE(std::filesystem::exists(socket));
  close(fd);
  close(idle);
}

TEST_F(EgressProxyTest, ReplacesAStaleSocketAndIsPrivate) {
  std::filesystem::path path = dir_ / "proxy.sock";
  int stale = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  close(stale);
  ASSERT_TRUE(std::filesystem::exists(path));

  auto proxy = StartProxy({"localhost"});
  ASSERT_NE(proxy, nullptr);
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string response = Exchange(*proxy, "CONNECT elsewhere.org:443 HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 403 ")) << response;
}

TEST_F(EgressProxyTest, StartRefusesBadRulesAndNonSocketFiles) {
  for (std::string rule : {"127.0.0.1", "*", "a.*.com", "", "exa mple.com", "[::1]"}) {
    EgressProxyOptions options;
    options.socket_path = dir_ / "proxy.sock";
    options.allowed_hosts = {"pypi.org", rule};
    auto proxy = EgressProxy::Start(std::move(options));
    ASSERT_FALSE(proxy.has_value()) << rule;
    EXPECT_EQ(proxy.error().code, ErrorCode::kInvalidArgument) << rule;
  }
  drover::testing::WriteTestFile(dir_.path(), "regular", "keep me");
  EgressProxyOptions options;
  options.socket_path = dir_ / "regular";
  options.allowed_hosts = {"pypi.org"};
  auto proxy = EgressProxy::Start(std::move(options));
  ASSERT_FALSE(proxy.has_value());
  EXPECT_EQ(proxy.error().code, ErrorCode::kIo);
  EXPECT_EQ(drover::testing::ReadTestFile(dir_ / "regular"), "keep me");
}

TEST(HostAllowed, ExactNamesAndWildcards) {
  const std::vector<std::string> allowed = {"pypi.org", "*.example.com"};
  EXPECT_TRUE(HostAllowed("pypi.org", allowed));
  EXPECT_FALSE(HostAllowed("files.pypi.org", allowed));
  EXPECT_TRUE(HostAllowed("a.example.com", allowed));
  EXPECT_TRUE(HostAllowed("a.b.example.com", allowed));
  EXPECT_FALSE(HostAllowed("example.com", allowed));
  EXPECT_FALSE(HostAllowed("badexample.com", allowed));
  EXPECT_FALSE(HostAllowed("example.com.evil.org", allowed));
  EXPECT_FALSE(HostAllowed("", allowed));
  EXPECT_FALSE(HostAllowed("a..example.com", allowed));
  EXPECT_FALSE(HostAllowed("a.example.com:443", allowed));
  EXPECT_FALSE(HostAllowed("pypi.org", {}));
}

TEST(HostAllowed, IgnoresCaseAndTrailingDot) {
  const std::vector<std::string> allowed = {"PyPI.org.", "*.Example.COM"};
  EXPECT_TRUE(HostAllowed("pypi.org", allowed));
  EXPECT_TRUE(HostAllowed("PYPI.ORG.", allowed));
  EXPECT_TRUE(HostAllowed("Files.EXAMPLE.com.", allowed));
  EXPECT_FALSE(HostAllowed("pypi.org..", allowed));
}

TEST(HostAllowed, NeverAllowsIpLiterals) {
  const std::vector<std::string> allowed = {"127.0.0.1", "*.1", "*.0.0.1", "2130706433", "[::1]",
                                            "::1"};
  for (std::string host : {"127.0.0.1", "127.1", "10.0.0.1", "2130706433", "0x7f000001",
                           "127.0.0.1.", "::1", "[::1]"}) {
    EXPECT_FALSE(HostAllowed(host, allowed)) << host;
  }
}

TEST(IpLiteral, AcceptsEveryFormTheResolverWould) {
  for (std::string host : {"127.0.0.1", "127.1", "0x7f.1", "2130706433", "0x7f000001",
                           "017700000001", "10.0.0.1", "::1", "[::1]", "::ffff:127.0.0.1",
                           "fe80::1", "[2001:db8::1]"}) {
    EXPECT_TRUE(IsIpLiteral(host)) << host;
  }
  for (std::string host : {"localhost", "example.com", "a1.example", "", "[::1", "1.2.3.4.5",
                           "[example.com]", "0x7g.1"}) {
    EXPECT_FALSE(IsIpLiteral(host)) << host;
  }
}

// A Unix socket server echoing on its own thread, standing in for the proxy.
class UnixEcho {
 public:
  explicit UnixEcho(const std::filesystem::path& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    thread_ = std::thread([this] {
      std::vector<std::thread> connections;
      for (;;) {
        int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) break;
        connections.emplace_back([client] {
          Echo(client);
          close(client);
        });
      }
      for (auto& connection : connections) connection.join();
    });
  }
  ~UnixEcho() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }

 private:
  int fd_ = -1;
  std::thread thread_;
};

// Forks a child serving the relay on an ephemeral loopback port; kills it on destruction.
class RelayProcess {
 public:
  explicit RelayProcess(const std::filesystem::path& unix_socket) {
    auto listening = ListenLoopback(0);
    EXPECT_TRUE(listening.has_value()) << listening.error().ToString();
    if (!listening) return;
    port_ = LocalPort(*listening);
    pid_ = fork();
    if (pid_ == 0) ServeRelay(*listening, unix_socket);
    close(*listening);
  }
  ~RelayProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

TEST(Relay, JoinsEachTcpConnectionToTheUnixSocket) {
  TempDir dir;
  UnixEcho echo(dir / "echo.sock");
  RelayProcess relay(dir / "echo.sock");
  ASSERT_NE(relay.port(), 0);
  int first = ConnectTcp(relay.port());
  int second = ConnectTcp(relay.port());
  SendAll(first, "hello relay");
  SendAll(second, "second connection");
  EXPECT_EQ(ReadExactly(second, 17), "second connection");
  EXPECT_EQ(ReadExactly(first, 11), "hello relay");
  // A half-close passes through to the echo server, whose close comes back as EOF.
  shutdown(first, SHUT_WR);
  EXPECT_EQ(ReadToEnd(first), "");
  close(first);
  close(second);
}

TEST(Relay, ClosesTheConnectionWhenTheSocketIsMissing) {
  TempDir dir;
  RelayProcess relay(dir / "absent.sock");
  ASSERT_NE(relay.port(), 0);
  int fd = ConnectTcp(relay.port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadToEnd(fd), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  close(fd);
}

TEST(Relay, CarriesAConnectThroughTheProxy) {
  TempDir dir;
  TcpServer upstream(Echo);
  EgressProxyOptions options;
  options.socket_path = dir / "proxy.sock";
  options.allowed_hosts = {"localhost"};
  options.allow_private_addresses = true;
  auto proxy = EgressProxy::Start(std::move(options));
  ASSERT_OK(proxy);
  RelayProcess relay((*proxy)->socket_path());
  ASSERT_NE(relay.port(), 0);
  int fd = ConnectTcp(relay.port());
  SendAll(fd, "CONNECT localhost:" + std::to_string(upstream.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(ReadHead(fd), "HTTP/1.1 200 Connection established\r\n\r\n");
  SendAll(fd, "through both");
  EXPECT_EQ(ReadExactly(fd, 12), "through both");
  close(fd);
  EXPECT_EQ((*proxy)->allowed_count(), 1);
}

}  // namespace
}  // namespace drover::sandbox
