// The helper's side of cgroup.h, apart from the lease code so that the static sandbox helper
// links nothing of it.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/cgroup.h"

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
