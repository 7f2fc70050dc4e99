// The in-sandbox half of egress (egress_proxy.h): kept apart from the proxy so that the
// static sandbox helper links none of the proxy's resolver and thread code.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/egress_proxy.h"
#include "sandbox/socket_pump.h"

namespace drover::sandbox {

using internal::Fd;
using internal::Pump;
using internal::SystemError;

Result<int> ListenLoopback(uint16_t port) {
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) return Fail(SystemError("socket"));
  int one = 1;
  if (setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return Fail(SystemError("SO_REUSEADDR"));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Fail(SystemError("binding 127.0.0.1:" + std::to_string(port)));
  }
  if (listen(listener.get(), 128) != 0) return Fail(SystemError("listen"));
  return listener.release();
}

void ServeRelay(int listen_fd, const std::filesystem::path& unix_socket) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const char* path = unix_socket.c_str();
  size_t length = std::strlen(path);
  if (length == 0 || length >= sizeof address.sun_path) _exit(2);
  std::memcpy(address.sun_path, path, length);

  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigaction(SIGCHLD, &action, nullptr);  // Children are reaped by the kernel.
  sigaction(SIGPIPE, &action, nullptr);
  const pid_t relay = getpid();
  for (;;) {
    int client = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno != EINTR && errno != ECONNABORTED) poll(nullptr, 0, 100);
      continue;
    }
    pid_t child = fork();
    if (child == 0) {
      // A connection must not outlive the relay.
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (getppid() != relay) _exit(0);
      close(listen_fd);
      int upstream = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (upstream >= 0 &&
          connect(upstream, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        Pump(client, upstream, -1);
      }
      _exit(0);
    }
    close(client);
  }
}

}  // namespace drover::sandbox
