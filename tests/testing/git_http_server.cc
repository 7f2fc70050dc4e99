#include "tests/testing/git_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

namespace drover::testing {
namespace {

std::string Base64(std::string_view text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < text.size(); i += 3) {
    uint32_t chunk = static_cast<uint32_t>(static_cast<unsigned char>(text[i])) << 16;
    if (i + 1 < text.size())
      chunk |= static_cast<uint32_t>(static_cast<unsigned char>(text[i + 1])) << 8;
    if (i + 2 < text.size()) chunk |= static_cast<unsigned char>(text[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < text.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < text.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

void Respond(int fd, int status, const std::map<std::string, std::string>& headers,
             const std::string& body) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  SendAll(fd, head + body);
}

// Runs `git http-backend` with `env`, `input` on stdin; returns its stdout.
std::optional<std::string> RunCgi(const std::vector<std::string>& env, const std::string& input) {
  char in_name[] = "/tmp/drover-cgi-in-XXXXXX";
  char out_name[] = "/tmp/drover-cgi-out-XXXXXX";
  int in_fd = ::mkstemp(in_name);
  int out_fd = ::mkstemp(out_name);
  ::unlink(in_name);
  ::unlink(out_name);
  if (in_fd < 0 || out_fd < 0) return std::nullopt;
  if (::write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    return std::nullopt;
  }
  ::lseek(in_fd, 0, SEEK_SET);
  std::vector<char*> envp;
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>("git"), const_cast<char*>("http-backend"), nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(null_fd, 2);
    ::execvpe("git", argv, envp.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid > 0) ::waitpid(pid, &status, 0);
  ::close(in_fd);
  std::string output;
  ::lseek(out_fd, 0, SEEK_SET);
  char chunk[65536];
  ssize_t n = 0;
  while ((n = ::read(out_fd, chunk, sizeof chunk)) > 0)
    output.append(chunk, static_cast<size_t>(n));
  ::close(out_fd);
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 127) return std::nullopt;
  return output;
}

}  // namespace

// Reads from a connection through a buffer; nullopt once the peer is gone.
class GitHttpServer::Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  std::optional<std::string> Line() {
    for (;;) {
      if (auto end = buffer_.find("\r\n"); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      if (!Fill()) return std::nullopt;
    }
  }
  std::optional<std::string> Bytes(size_t n) {
    while (buffer_.size() < n) {
      if (!Fill()) return std::nullopt;
    }
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

 private:
  bool Fill() {
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  std::string buffer_;
};

GitHttpServer::GitHttpServer(std::filesystem::path root, std::string username, std::string password)
    : root_(std::move(root)),
      expected_authorization_("Basic " + Base64(username + ":" + password)),
      username_(std::move(username)) {}

GitHttpServer::~GitHttpServer() {
  Stop();
}

Status GitHttpServer::Start(const std::string& address_text) {
  address_ = address_text;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (::inet_pton(AF_INET, address_text.c_str(), &address.sin_addr) != 1) {
    return Fail(ErrorCode::kIo, "git http server: bad address " + address_text);
  }
  socklen_t length = sizeof address;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Fail(ErrorCode::kIo, "git http server: cannot listen on " + address_text);
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { AcceptLoop(); });
  return {};
}

void GitHttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    connections.swap(connections_);
  }
  for (auto& connection : connections) connection.join();
}

std::string GitHttpServer::Url(const std::string& path) const {
  return "http://" + address_ + ":" + std::to_string(port_) + "/" + path;
}

void GitHttpServer::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    open_fds_.insert(fd);
    connections_.emplace_back([this, fd] {
      Reader reader(fd);
      while (Serve(fd, reader)) {
      }
      std::lock_guard fd_lock(mutex_);
      open_fds_.erase(fd);
      ::close(fd);
    });
  }
}

bool GitHttpServer::Serve(int fd, Reader& reader) {
  auto request_line = reader.Line();
  if (!request_line) return false;
  std::string method = request_line->substr(0, request_line->find(' '));
  size_t target_start = method.size() + 1;
  std::string target =
      request_line->substr(target_start, request_line->find(' ', target_start) - target_start);
  std::map<std::string, std::string> headers;
  for (auto line = reader.Line(); line && !line->empty(); line = reader.Line()) {
    size_t colon = line->find(':');
    if (colon == std::string::npos) continue;
    std::string name = line->substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t value = line->find_first_not_of(' ', colon + 1);
    headers[name] = value == std::string::npos ? "" : line->substr(value);
  }
  std::string body;
  if (headers["transfer-encoding"] == "chunked") {
    for (;;) {
      auto size_line = reader.Line();
      if (!size_line) return false;
      size_t size = std::strtoul(size_line->c_str(), nullptr, 16);
      if (size == 0) {
        while (auto trailer = reader.Line()) {
          if (trailer->empty()) break;
        }
        break;
      }
      auto chunk = reader.Bytes(size + 2);
      if (!chunk) return false;
      body += chunk->substr(0, size);
    }
  } else if (headers.contains("content-length")) {
    auto read = reader.Bytes(std::strtoul(headers["content-length"].c_str(), nullptr, 10));
    if (!read) return false;
    body = *read;
  }

  if (headers["authorization"] != expected_authorization_) {
    ++refused_;
    // No body: libgit2 retries on the same connection without reading one.
    Respond(fd, 401, {{"WWW-Authenticate", "Basic realm=\"git\""}}, "");
    return true;
  }
  size_t question = target.find('?');
  const char* path = std::getenv("PATH");
  std::vector<std::string> env = {
      "GIT_PROJECT_ROOT=" + root_.string(),
      "GIT_HTTP_EXPORT_ALL=1",
      "GIT_CONFIG_NOSYSTEM=1",
      "HOME=" + root_.string(),
      "PATH=" + std::string(path == nullptr ? "/usr/bin:/bin" : path),
      "REQUEST_METHOD=" + method,
      "PATH_INFO=" + target.substr(0, question),
      "QUERY_STRING=" + (question == std::string::npos ? "" : target.substr(question + 1)),
      "CONTENT_TYPE=" + headers["content-type"],
      "CONTENT_LENGTH=" + std::to_string(body.size()),
      "REMOTE_USER=" + username_,
      "REMOTE_ADDR=127.0.0.1",
  };
  if (headers.contains("content-encoding")) {
    env.push_back("HTTP_CONTENT_ENCODING=" + headers["content-encoding"]);
  }
  if (headers.contains("git-protocol")) env.push_back("GIT_PROTOCOL=" + headers["git-protocol"]);
  auto output = RunCgi(env, body);
  if (!output) {
    Respond(fd, 500, {}, "git http-backend did not run\n");
    return true;
  }
  ++served_;
  size_t end = output->find("\r\n\r\n");
  size_t skip = 4;
  if (end == std::string::npos) {
    end = output->find("\n\n");
    skip = 2;
  }
  if (end == std::string::npos) {
    Respond(fd, 502, {}, "git http-backend wrote no headers\n");
    return true;
  }
  int status = 200;
  std::map<std::string, std::string> out_headers;
  size_t start = 0;
  std::string head = output->substr(0, end);
  while (start < head.size()) {
    size_t stop = head.find('\n', start);
    if (stop == std::string::npos) stop = head.size();
    std::string line = head.substr(start, stop - start);
    if (line.ends_with('\r')) line.pop_back();
    start = stop + 1;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(line.find_first_not_of(' ', colon + 1));
    if (name == "Status") {
      status = std::atoi(value.c_str());
    } else {
      out_headers[name] = value;
    }
  }
  Respond(fd, status, out_headers, output->substr(end + skip));
  return true;
}

}  // namespace drover::testing
