#include "core/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

namespace drover {
namespace {

constexpr size_t kMaxHeaderBytes = size_t{1} << 20;
constexpr size_t kReadChunk = size_t{64} << 10;

Error SystemError(std::string_view what) {
  return Error{ErrorCode::kIo, std::string(what) + ": " + std::strerror(errno), std::nullopt};
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Status";
  }
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Header values must not smuggle line breaks into the response.
std::string CleanHeaderValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void WriteResponse(int fd, const HttpResponse& response, bool close, bool head_only) {
  int status = response.status >= 100 && response.status <= 999 ? response.status : 500;
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(ReasonPhrase(status)) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    std::string lower = LowerHeaderName(name);
    if (lower == "content-length" || lower == "connection" || lower == "transfer-encoding") {
      continue;
    }
    if (lower.empty() || !std::all_of(lower.begin(), lower.end(), IsTokenChar)) continue;
    out += lower + ": " + CleanHeaderValue(value) + "\r\n";
  }
  const bool chunked = response.stream_body != nullptr;
  if (chunked) {
    out += "transfer-encoding: chunked\r\n";
  } else {
    out += "content-length: " + std::to_string(response.body.size()) + "\r\n";
  }
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  if (!chunked) {
    if (!head_only) out += response.body;
    SendAll(fd, out);
    return;
  }
  if (!SendAll(fd, out) || head_only) return;
  bool open = true;
  response.stream_body([fd, &open](std::string_view piece) {
    if (!open) return false;
    if (piece.empty()) return true;  // An empty chunk would end the body.
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    open = SendAll(fd, size) && SendAll(fd, piece) && SendAll(fd, "\r\n");
    return open;
  });
  if (open) SendAll(fd, "0\r\n\r\n");
}

HttpResponse PlainResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers["content-type"] = "text/plain; charset=utf-8";
  response.body = std::move(body) + "\n";
  return response;
}

struct RequestLine {
  std::string method;
  std::string target;
  bool http10 = false;
};

std::optional<RequestLine> ParseRequestLine(std::string_view line) {
  size_t first = line.find(' ');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos || second == first + 1) return std::nullopt;
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!std::all_of(method.begin(), method.end(), IsTokenChar)) return std::nullopt;
  if (target.empty() || target.find_first_of(" \t\r\n") != std::string_view::npos) {
    return std::nullopt;
  }
  if (target.front() != '/' && target != "*" && !target.starts_with("http://") &&
      !target.starts_with("https://")) {
    return std::nullopt;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;
  return RequestLine{std::string(method), std::string(target), version == "HTTP/1.0"};
}

// Parses the header lines between the request line and the blank line. False on malformed.
bool ParseHeaders(std::string_view block, HttpHeaders& headers) {
  while (!block.empty()) {
    size_t end = block.find("\r\n");
    std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view() : block.substr(end + 2);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return false;
    std::string key = LowerHeaderName(std::string(name));
    std::string value(TrimSpaces(line.substr(colon + 1)));
    auto [it, inserted] = headers.emplace(key, value);
    if (!inserted) {
      if (key == "content-length") {
        if (it->second != value) return false;
      } else {
        it->second += ", " + value;
      }
    }
  }
  return true;
}

bool HeaderHasToken(const HttpHeaders& headers, const std::string& name, std::string_view token) {
  auto it = headers.find(name);
  if (it == headers.end()) return false;
  std::string value = LowerHeaderName(it->second);
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string::npos) comma = value.size();
    if (TrimSpaces(std::string_view(value).substr(pos, comma - pos)) == token) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

HttpServer::HttpServer(HttpHandler handler, HttpServerOptions options)
    : handler_(std::move(handler)), options_(options) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::ListenTcp(uint16_t port) {
  if (listen_fd_ >= 0 || stopping_) {
    return Fail(ErrorCode::kInvalidArgument, "http server: already listening");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(SystemError("http server: socket"));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    Error error = SystemError("http server: bind 127.0.0.1:" + std::to_string(port));
    ::close(fd);
    return std::unexpected(error);
  }
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Error error = SystemError("http server: getsockname");
    ::close(fd);
    return std::unexpected(error);
  }
  port_ = ntohs(address.sin_port);
  return StartListening(fd);
}

Status HttpServer::ListenUnix(const std::filesystem::path& path) {
  if (listen_fd_ >= 0 || stopping_) {
    return Fail(ErrorCode::kInvalidArgument, "http server: already listening");
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& text = path.native();
  if (text.empty() || text.size() >= sizeof address.sun_path) {
    return Fail(ErrorCode::kInvalidArgument,
                "http server: socket path " + text + " is empty or longer than " +
                    std::to_string(sizeof address.sun_path - 1) + " bytes");
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  struct stat info{};
  if (::lstat(text.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "http server: " + text + " exists and is not a socket; refusing to replace it");
    }
    ::unlink(text.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(SystemError("http server: socket"));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    Error error = SystemError("http server: bind " + text);
    ::close(fd);
    return std::unexpected(error);
  }
  if (::chmod(text.c_str(), 0600) != 0) {
    Error error = SystemError("http server: chmod " + text);
    ::close(fd);
    ::unlink(text.c_str());
    return std::unexpected(error);
  }
  unix_path_ = path;
  return StartListening(fd);
}

Status HttpServer::StartListening(int fd) {
  if (::listen(fd, 128) != 0) {
    Error error = SystemError("http server: listen");
    ::close(fd);
    if (unix_path_) ::unlink(unix_path_->c_str());
    unix_path_.reset();
    return std::unexpected(error);
  }
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    Error error = SystemError("http server: pipe");
    ::close(fd);
    if (unix_path_) ::unlink(unix_path_->c_str());
    unix_path_.reset();
    return std::unexpected(error);
  }
  listen_fd_ = fd;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return {};
}

void HttpServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int ready = ::poll(fds, 2, 1000);
    if (stopping_) return;
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) {
      ReapFinished(false);
      continue;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or a connection that went away: back off briefly, keep serving.
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    Connection& ref = *connection;
    connection->thread = std::thread([this, &ref] { Serve(ref); });
    {
      std::lock_guard lock(mutex_);
      connections_.push_back(std::move(connection));
    }
    ReapFinished(false);
  }
}

// `all` is only for Stop(), after the accept thread has been joined.
void HttpServer::ReapFinished(bool all) {
  std::unique_lock lock(mutex_, std::defer_lock);
  if (!all) lock.lock();
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection& connection = **it;
    if (!all && !connection.done) {
      ++it;
      continue;
    }
    if (connection.thread.joinable()) connection.thread.join();
    ::close(connection.fd);
    it = connections_.erase(it);
  }
}

void HttpServer::Serve(Connection& connection) {
  const int fd = connection.fd;
  std::string buffer;
  const int timeout_ms = static_cast<int>(options_.idle_timeout.count());

  // Appends what the peer sent next; false on EOF, error or idle timeout.
  auto read_more = [&]() {
    while (true) {
      pollfd pfd{fd, POLLIN, 0};
      int ready = ::poll(&pfd, 1, timeout_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      char chunk[kReadChunk];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
      return true;
    }
  };

  while (!stopping_) {
    // Tolerate blank lines between pipelined requests.
    while (buffer.starts_with("\r\n")) buffer.erase(0, 2);
    size_t line_end = buffer.find("\r\n");
    if (line_end == std::string::npos) {
      if (buffer.size() > kMaxHeaderBytes) {
        WriteResponse(fd, PlainResponse(431, "request line too long"), true, false);
        break;
      }
      if (!read_more()) break;
      continue;
    }
    auto request_line = ParseRequestLine(std::string_view(buffer).substr(0, line_end));
    if (!request_line) {
      WriteResponse(fd, PlainResponse(400, "malformed request line"), true, false);
      break;
    }
    size_t header_end = buffer.find("\r\n\r\n");
    // The request line's own CRLF may be the first half of the blank line.
    if (header_end == std::string::npos || header_end < line_end) {
      if (buffer.size() > kMaxHeaderBytes) {
        WriteResponse(fd, PlainResponse(431, "request headers too large"), true, false);
        break;
      }
      if (!read_more()) break;
      continue;
    }
    HttpRequest request;
    request.method = request_line->method;
    request.url = request_line->target;
    std::string_view header_block =
        header_end > line_end ? std::string_view(buffer).substr(line_end + 2, header_end - line_end - 2)
                              : std::string_view();
    if (!ParseHeaders(header_block, request.headers)) {
      WriteResponse(fd, PlainResponse(400, "malformed header"), true, false);
      break;
    }
    if (request.headers.contains("transfer-encoding")) {
      WriteResponse(fd, PlainResponse(411, "chunked request bodies are not supported; send "
                                           "content-length"),
                    true, false);
      break;
    }
    size_t body_length = 0;
    if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
      const std::string& value = it->second;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), body_length);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
        // Too large to represent is too large to accept.
        int status = ec == std::errc::result_out_of_range ? 413 : 400;
        WriteResponse(fd, PlainResponse(status, "bad content-length"), true, false);
        break;
      }
    }
    size_t body_start = header_end + 4;
    if (body_length > options_.max_request_bytes ||
        body_start + body_length > options_.max_request_bytes) {
      WriteResponse(fd, PlainResponse(413, "request larger than " +
                                               std::to_string(options_.max_request_bytes) +
                                               " bytes"),
                    true, false);
      break;
    }
    bool complete = true;
    while (buffer.size() < body_start + body_length) {
      if (!read_more()) {
        complete = false;
        break;
      }
    }
    if (!complete) break;
    request.body = buffer.substr(body_start, body_length);
    buffer.erase(0, body_start + body_length);

    bool close = request_line->http10 ? !HeaderHasToken(request.headers, "connection", "keep-alive")
                                      : HeaderHasToken(request.headers, "connection", "close");
    HttpResponse response;
    try {
      response = handler_(request);
    } catch (const std::exception& e) {
      response = PlainResponse(500, std::string("handler failed: ") + e.what());
    } catch (...) {
      response = PlainResponse(500, "handler failed");
    }
    if (stopping_) close = true;
    WriteResponse(fd, response, close, request.method == "HEAD");
    if (close) break;
  }
  ::shutdown(fd, SHUT_RDWR);
  connection.done = true;
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (accept_thread_.joinable()) {
    char byte = 1;
    [[maybe_unused]] ssize_t written = ::write(wake_pipe_[1], &byte, 1);
    accept_thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  for (int& fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  {
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) ::shutdown(connection->fd, SHUT_RDWR);
  }
  ReapFinished(true);
  if (unix_path_) {
    ::unlink(unix_path_->c_str());
    unix_path_.reset();
  }
}

}  // namespace drover
