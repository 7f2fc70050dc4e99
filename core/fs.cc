#include "core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

namespace drover {
namespace {

Error ErrnoError(std::string_view what, const std::filesystem::path& path, int err) {
  return Error{err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               std::string(what) + " " + path.string() + ": " + std::strerror(err), std::nullopt};
}

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError("writing", path, errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Reads `fd` to its end, or until more than `max_bytes` arrived; closes it.
Result<std::string> ReadAllAndClose(int fd, const std::filesystem::path& path, size_t max_bytes) {
  std::string out;
  char buf[65536];
  while (out.size() <= max_bytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return std::unexpected(ErrnoError("reading", path, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

Result<std::string> ReadRegularFile(const std::filesystem::path& path, size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO planted in place of the file must not hang the reader.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP) {
      return Fail(ErrorCode::kPermissionDenied, "refusing to read " + path.string() +
                                                    ": it is a symbolic link");
    }
    return std::unexpected(ErrnoError("reading", path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kPermissionDenied,
                "refusing to read " + path.string() + ": not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Fail(ErrorCode::kIo, "refusing to read " + path.string() + ": larger than " +
                                    std::to_string(max_bytes) + " bytes");
  }
  auto out = ReadAllAndClose(fd, path, max_bytes);
  if (out && out->size() > max_bytes) {
    return Fail(ErrorCode::kIo, "refusing to read " + path.string() + ": it grew past " +
                                    std::to_string(max_bytes) + " bytes");
  }
  return out;
}

Result<std::string> ReadFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ErrnoError("reading", path, errno));
  return ReadAllAndClose(fd, path, SIZE_MAX - 1);
}

Status WriteFileAtomic(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError("creating", tmp, errno));
  auto written = WriteAll(fd, contents, tmp);
  ::close(fd);
  if (!written) return written;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(ErrnoError("renaming into", path, err));
  }
  return {};
}

Status AppendFile(const std::filesystem::path& path, std::string_view contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(ErrnoError("opening", path, errno));
  auto written = WriteAll(fd, contents, path);
  ::close(fd);
  return written;
}

Status CreateDirectories(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Fail(ErrorCode::kIo, "creating directory " + path.string() + ": " + ec.message());
  return {};
}

Status RemoveAll(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Fail(ErrorCode::kIo, "removing " + path.string() + ": " + ec.message());
  return {};
}

}  // namespace drover
