#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/http.h"
#include "core/http_server.h"
#include "tests/testing/testing.h"

namespace drover {
namespace {

using std::chrono::milliseconds;

HttpResponse Echo(const HttpRequest& request) {
  HttpResponse response;
  response.status = 200;
  response.headers["X-Echo-Method"] = request.method;
  response.headers["x-echo-url"] = request.url;
  auto it = request.headers.find("x-test");
  response.headers["x-echo-test"] = it == request.headers.end() ? "" : it->second;
  response.body = request.body;
  return response;
}

// A raw client connection, for what curl will not send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ADD_FAILURE() << "connect failed";
    }
  }
  ~RawConnection() { ::close(fd_); }

  void Send(const std::string& data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }

  // One response: headers and a content-length body. Empty on EOF before any byte.
  std::string ReadResponse() {
    while (true) {
      size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        size_t at = buffer_.find("content-length: ");
        if (at != std::string::npos && at < end) length = std::stoul(buffer_.substr(at + 16));
        if (buffer_.size() >= end + 4 + length) {
          std::string response = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return response;
        }
      }
      if (!ReadMore()) return std::exchange(buffer_, "");
    }
  }

  // True when the server closed the connection (reads EOF within a few seconds).
  bool ClosedByPeer() {
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char byte = 0;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

 private:
  bool ReadMore() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

TEST(Http, PostRoundTripOverTcp) {
  HttpServer server(Echo);
  ASSERT_OK(server.ListenTcp());
  ASSERT_NE(server.port(), 0);
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/things?x=1";
  request.headers["x-test"] = "hello";
  request.headers["content-type"] = "application/json";
  request.body = std::string(200000, 'b') + "{\"end\": true}";
  auto response = client->Send(request);
  ASSERT_OK(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, request.body);
  EXPECT_EQ(response->headers["x-echo-method"], "POST");
  EXPECT_EQ(response->headers["x-echo-url"], "/v1/things?x=1");
  EXPECT_EQ(response->headers["x-echo-test"], "hello");
  EXPECT_EQ(response->headers["content-length"], std::to_string(request.body.size()));
}

TEST(Http, StatusesAreResponsesNotErrors) {
  HttpServer server([](const HttpRequest&) {
    HttpResponse response;
    response.status = 503;
    response.headers["Retry-After"] = "7";
    response.body = "busy";
    return response;
  });
  ASSERT_OK(server.ListenTcp());
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto response = client->Send(request);
  ASSERT_OK(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->headers["retry-after"], "7");
  EXPECT_EQ(response->body, "busy");
}

TEST(Http, UnixSocketIsOwnerOnlyAndRemovedOnStop) {
  testing::TempDir dir;
  std::filesystem::path socket = dir / "gw.sock";
  {
    HttpServer server(Echo);
    ASSERT_OK(server.ListenUnix(socket));
    struct stat info{};
    ASSERT_EQ(::stat(socket.c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0600u);

    auto client = MakeCurlHttpClient();
    HttpRequest request;
    request.method = "POST";
    request.url = "http://gateway/v1/messages?beta=1";
    request.unix_socket = socket.string();
    request.body = "over a unix socket";
    auto response = client->Send(request);
    ASSERT_OK(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->headers["x-echo-url"], "/v1/messages?beta=1");
    EXPECT_EQ(response->body, "over a unix socket");
  }
  EXPECT_FALSE(std::filesystem::exists(socket));
}

TEST(Http, StaleSocketIsReplacedButOtherFilesAreNot) {
  testing::TempDir dir;
  std::filesystem::path socket = dir / "stale.sock";
  {
    // A socket file left behind by a process that died.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
  }
  ASSERT_TRUE(std::filesystem::exists(socket));
  HttpServer server(Echo);
  ASSERT_OK(server.ListenUnix(socket));
  server.Stop();

  testing::WriteTestFile(dir.path(), "precious.txt", "keep me");
  HttpServer other(Echo);
  auto refused = other.ListenUnix(dir / "precious.txt");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(testing::ReadTestFile(dir / "precious.txt"), "keep me");
}

TEST(Http, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::atomic<int> handled{0};
  HttpServer server([&](const HttpRequest& request) {
    ++handled;
    return Echo(request);
  });
  ASSERT_OK(server.ListenTcp());
  RawConnection connection(server.port());
  connection.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nonePOST /b HTTP/1.1\r\n"
                  "Host: x\r\nContent-Length: 3\r\n\r\ntwo");
  std::string first = connection.ReadResponse();
  std::string second = connection.ReadResponse();
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200")) << first;
  EXPECT_TRUE(first.ends_with("one")) << first;
  EXPECT_NE(first.find("x-echo-url: /a"), std::string::npos) << first;
  EXPECT_TRUE(second.ends_with("two")) << second;
  connection.Send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string third = connection.ReadResponse();
  EXPECT_NE(third.find("connection: close"), std::string::npos) << third;
  EXPECT_TRUE(connection.ClosedByPeer());
  EXPECT_EQ(handled, 3);
}

TEST(Http, SequentialRequestsFromOneClient) {
  HttpServer server(Echo);
  ASSERT_OK(server.ListenTcp());
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/x";
  for (int i = 0; i < 5; ++i) {
    request.body = "n" + std::to_string(i);
    auto response = client->Send(request);
    ASSERT_OK(response);
    EXPECT_EQ(response->body, request.body);
  }
}

TEST(Http, GarbageRequestGets400AndClose) {
  HttpServer server(Echo);
  ASSERT_OK(server.ListenTcp());
  RawConnection connection(server.port());
  connection.Send("THIS IS NOT HTTP\r\n\r\n");
  std::string response = connection.ReadResponse();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 400")) << response;
  EXPECT_TRUE(connection.ClosedByPeer());

  RawConnection bad_header(server.port());
  bad_header.Send("GET / HTTP/1.1\r\nno colon here\r\n\r\n");
  EXPECT_TRUE(bad_header.ReadResponse().starts_with("HTTP/1.1 400"));
}

TEST(Http, OversizedAndChunkedRequestsAreRefused) {
  HttpServerOptions options;
  options.max_request_bytes = 1024;
  HttpServer server(Echo, options);
  ASSERT_OK(server.ListenTcp());
  RawConnection big(server.port());
  big.Send("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_TRUE(big.ReadResponse().starts_with("HTTP/1.1 413"));
  EXPECT_TRUE(big.ClosedByPeer());

  RawConnection chunked(server.port());
  chunked.Send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.ReadResponse().starts_with("HTTP/1.1 411"));

  RawConnection small(server.port());
  small.Send("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nsmall");
  std::string ok = small.ReadResponse();
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200")) << ok;
  EXPECT_TRUE(ok.ends_with("small"));
}

TEST(Http, ClientTimeoutIsKTimeout) {
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  HttpServer server([&](const HttpRequest& request) {
    std::unique_lock lock(mutex);
    released.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    return Echo(request);
  });
  ASSERT_OK(server.ListenTcp());
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/slow";
  request.timeout = milliseconds(200);
  auto started = std::chrono::steady_clock::now();
  auto response = client->Send(request);
  auto took = std::chrono::steady_clock::now() - started;
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout) << response.error().ToString();
  EXPECT_LT(took, std::chrono::seconds(5));
}

// A server whose streamed body sends `pieces`, then waits until released.
class StreamingServer {
 public:
  explicit StreamingServer(std::vector<std::string> pieces, int status = 200)
      : server_([this, pieces, status](const HttpRequest&) {
          HttpResponse response;
          response.status = status;
          response.headers["content-type"] = "text/event-stream";
          response.stream_body = [this, pieces](const HttpBodyWriter& write) {
            for (const auto& piece : pieces) {
              if (!write(piece)) return;
            }
            std::unique_lock lock(mutex_);
            released_.wait_for(lock, std::chrono::seconds(10), [this] { return release_; });
          };
          return response;
        }) {}
  ~StreamingServer() {
    {
      std::lock_guard lock(mutex_);
      release_ = true;
    }
    released_.notify_all();
    server_.Stop();
  }
  Status Listen() { return server_.ListenTcp(); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()) + "/s"; }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
  HttpServer server_;
};

TEST(Http, StreamedBodyArrivesInChunksWithTheStatus) {
  HttpServer server([](const HttpRequest&) {
    HttpResponse response;
    response.status = 201;
    response.stream_body = [](const HttpBodyWriter& write) {
      for (const char* piece : {"data: one\n\n", "", "data: two\n\n"}) {
        if (!write(piece)) return;
      }
    };
    return response;
  });
  ASSERT_OK(server.ListenTcp());
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/s";
  std::string received;
  std::vector<int> statuses;
  request.on_body = [&](int status, std::string_view chunk) {
    statuses.push_back(status);
    received.append(chunk);
    return true;
  };
  auto response = client->Send(request);
  ASSERT_OK(response);
  EXPECT_EQ(response->status, 201);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(received, "data: one\n\ndata: two\n\n");
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.front(), 201);
  // Without on_body the chunked body is collected as usual.
  request.on_body = nullptr;
  auto whole = client->Send(request);
  ASSERT_OK(whole);
  EXPECT_EQ(whole->body, "data: one\n\ndata: two\n\n");
}

TEST(Http, StalledStreamTripsTheInactivityWatchdog) {
  StreamingServer server({"data: first\n\n"});
  ASSERT_OK(server.Listen());
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = server.Url();
  request.inactivity_timeout = milliseconds(500);
  std::string received;
  request.on_body = [&](int, std::string_view chunk) {
    received.append(chunk);
    return true;
  };
  auto started = std::chrono::steady_clock::now();
  auto response = client->Send(request);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout) << response.error().ToString();
  EXPECT_NE(response.error().message.find("stalled"), std::string::npos);
  EXPECT_EQ(received, "data: first\n\n");
  EXPECT_GE(took, milliseconds(500));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Http, BodyReaderCanStopTheTransfer) {
  StreamingServer server({"data: bad\n\n"});
  ASSERT_OK(server.Listen());
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = server.Url();
  request.on_body = [](int, std::string_view) { return false; };
  auto response = client->Send(request);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kCancelled) << response.error().ToString();
}

// A server that would send 1 GiB: the client stops reading at its limit, whether it collects
// the body or is handed it in pieces, and a body of exactly the limit still passes.
TEST(Http, BodyAboveTheLimitIsRefusedWhenItGetsThere) {
  std::atomic<size_t> written = 0;
  HttpServer server([&](const HttpRequest& request) {
    HttpResponse response;
    response.status = 200;
    if (request.url.ends_with("/exact")) {
      response.body = std::string(size_t{1} << 20, 'e');
      return response;
    }
    response.stream_body = [&](const HttpBodyWriter& write) {
      const std::string piece(64 * 1024, 'x');
      for (size_t sent = 0; sent < (size_t{1} << 30); sent += piece.size()) {
        if (!write(piece)) return;
        written += piece.size();
      }
    };
    return response;
  });
  ASSERT_OK(server.ListenTcp());
  auto client = MakeCurlHttpClient();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  for (bool streamed : {false, true}) {
    written = 0;
    HttpRequest request;
    request.url = base + "/huge";
    request.max_body_bytes = size_t{1} << 20;
    size_t handed = 0;
    if (streamed) {
      request.on_body = [&](int, std::string_view chunk) {
        handed += chunk.size();
        return true;
      };
    }
    auto response = client->Send(request);
    ASSERT_FALSE(response.has_value()) << streamed;
    EXPECT_EQ(response.error().code, ErrorCode::kProtocol) << response.error().ToString();
    EXPECT_NE(response.error().message.find("larger than 1 MiB"), std::string::npos)
        << response.error().message;
    EXPECT_LE(handed, size_t{1} << 20);
    // The connection was closed long before the end of the server's gibibyte.
    EXPECT_LT(written.load(), size_t{64} << 20) << streamed;
  }
  HttpRequest exact;
  exact.url = base + "/exact";
  exact.max_body_bytes = size_t{1} << 20;
  auto response = client->Send(exact);
  ASSERT_OK(response);
  EXPECT_EQ(response->body.size(), size_t{1} << 20);
}

TEST(Http, UnreachablePeersAreKUnavailable) {
  uint16_t port = 0;
  {
    HttpServer server(Echo);
    ASSERT_OK(server.ListenTcp());
    port = server.port();
  }
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto refused = client->Send(request);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().ToString();

  testing::TempDir dir;
  request.url = "http://gateway/";
  request.unix_socket = (dir / "nobody.sock").string();
  auto missing = client->Send(request);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable) << missing.error().ToString();
  EXPECT_NE(missing.error().message.find("nobody.sock"), std::string::npos);
}

TEST(Http, BadUrlIsKInvalidArgument) {
  auto client = MakeCurlHttpClient();
  HttpRequest request;
  request.url = "ftp://127.0.0.1/file";
  auto response = client->Send(request);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kInvalidArgument) << response.error().ToString();
}

TEST(Http, ConcurrentClientsAreServed) {
  HttpServer server(Echo);
  ASSERT_OK(server.ListenTcp());
  auto client = MakeCurlHttpClient();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        HttpRequest request;
        request.method = "POST";
        request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/c";
        request.body = std::to_string(t) + ":" + std::to_string(i);
        auto response = client->Send(request);
        if (response && response->body == request.body) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok, 60);
}

TEST(Http, StopIsPromptWithIdleConnections) {
  auto server = std::make_unique<HttpServer>(Echo);
  ASSERT_OK(server->ListenTcp());
  RawConnection idle(server->port());
  RawConnection half(server->port());
  half.Send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  std::this_thread::sleep_for(milliseconds(50));
  auto started = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_TRUE(idle.ClosedByPeer());
}

TEST(Http, LowerHeaderName) {
  EXPECT_EQ(LowerHeaderName("X-Api-KEY"), "x-api-key");
}

}  // namespace
}  // namespace drover
