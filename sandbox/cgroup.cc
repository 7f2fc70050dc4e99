#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace drover::sandbox {

Status JoinCgroups(const std::vector<std::filesystem::path>& dirs) {
  for (const auto& dir : dirs) {
    int fd = open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    bool joined = fd >= 0 && write(fd, "0", 1) == 1;
    int saved = errno;
    if (fd >= 0) close(fd);
    if (!joined) {
      return Fail(ErrorCode::kPermissionDenied,
                  "joining cgroup " + dir.string() + ": " + std::strerror(saved));
    }
  }
  return {};
}

}  // namespace drover::sandbox
