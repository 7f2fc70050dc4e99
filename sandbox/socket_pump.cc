#include "sandbox/socket_pump.h"

#include <poll.h>
#include <sys/socket.h>

namespace drover::sandbox::internal {
namespace {

constexpr size_t kPumpBuffer = size_t{16} << 10;

}  // namespace

void Pump(int a, int b, int wake_fd) {
  struct Direction {
    int from;
    int to;
    size_t begin;
    size_t end;
    bool eof;  // `from` will send nothing more.
    bool done;
    char buffer[kPumpBuffer];
  };
  Direction directions[2];
  directions[0].from = a;
  directions[0].to = b;
  directions[1].from = b;
  directions[1].to = a;
  for (Direction& d : directions) {
    d.begin = d.end = 0;
    d.eof = d.done = false;
  }
  for (;;) {
    short events[2] = {0, 0};
    bool watched[2] = {false, false};
    for (int i = 0; i < 2; ++i) {
      const Direction& d = directions[i];
      if (d.done) continue;
      // The receiver is always watched, to learn (POLLHUP, POLLERR) that it has gone.
      watched[1 - i] = true;
      if (d.begin < d.end) {
        events[1 - i] |= POLLOUT;
      } else if (!d.eof) {
        events[i] |= POLLIN;
        watched[i] = true;
      }
    }
    if (directions[0].done && directions[1].done) return;
    // Descriptors nobody waits on are left out: a hung-up socket would otherwise wake poll
    // at once, forever.
    pollfd fds[3] = {{watched[0] ? a : -1, events[0], 0},
                     {watched[1] ? b : -1, events[1], 0},
                     {wake_fd, POLLIN, 0}};
    if (poll(fds, wake_fd >= 0 ? 3 : 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (wake_fd >= 0 && fds[2].revents != 0) return;
    if (((fds[0].revents | fds[1].revents) & POLLNVAL) != 0) return;
    for (int i = 0; i < 2; ++i) {
      Direction& d = directions[i];
      if (d.done) continue;
      const short from_events = fds[i].revents;
      const short to_events = fds[1 - i].revents;
      if (d.begin == d.end && !d.eof && (from_events & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ssize_t got = recv(d.from, d.buffer, sizeof d.buffer, MSG_DONTWAIT);
        if (got > 0) {
          d.begin = 0;
          d.end = static_cast<size_t>(got);
        } else if (got == 0 || !WouldBlock(errno)) {
          d.eof = true;
        }
      }
      if (d.begin < d.end) {
        ssize_t sent = send(d.to, d.buffer + d.begin, d.end - d.begin, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent > 0) {
          d.begin += static_cast<size_t>(sent);
          if (d.begin == d.end) d.begin = d.end = 0;
        } else if (sent < 0 && !WouldBlock(errno)) {
          d.done = true;
          continue;
        }
      } else if ((to_events & (POLLHUP | POLLERR)) != 0) {
        d.done = true;
        continue;
      }
      if (d.eof && d.begin == d.end) {
        shutdown(d.to, SHUT_WR);
        d.done = true;
      }
    }
  }
}

}  // namespace drover::sandbox::internal
