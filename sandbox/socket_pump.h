// Socket plumbing shared by the egress proxy (runner side) and its relay (inside the sandbox).
// Internal to sandbox/. Thread-safe: no shared state.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace drover::sandbox::internal {

inline Error SystemError(std::string_view what) {
  return Error{ErrorCode::kIo, std::string(what) + ": " + std::strerror(errno), std::nullopt};
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

inline bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// Copies bytes both ways between sockets `a` and `b` until each direction has ended, passing
// half-closes on, or until `wake_fd` (-1: none) becomes readable. A direction whose receiver
// is gone ends alone, so a reply already under way in the other direction still arrives.
// Only async-signal-safe calls and no allocation: the relay runs this in forked children.
void Pump(int a, int b, int wake_fd);

}  // namespace drover::sandbox::internal
