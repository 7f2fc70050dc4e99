#include "agent/transcript.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

namespace drover::agent {
namespace {

std::string NowIso() {
  auto now = std::chrono::system_clock::now();
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(millis));
  return buf;
}

Json RedactAll(const Json& value, const Redactor& redactor) {
  if (value.is_string()) return redactor.Redact(value.get_ref<const std::string&>());
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(RedactAll(item, redactor));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) out[key] = RedactAll(item, redactor);
    return out;
  }
  return value;
}

}  // namespace

Transcript::Transcript(const std::filesystem::path& path, Redactor redactor)
    : path_(path), redactor_(std::move(redactor)) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) open_errno_ = errno;
}

Transcript::~Transcript() {
  if (fd_ >= 0) ::close(fd_);
}

Status Transcript::Write(std::string_view type, const Json& fields) {
  if (fd_ < 0) {
    return Fail(ErrorCode::kIo, "transcript " + path_.string() + ": " + std::strerror(open_errno_));
  }
  Json event = {{"t", NowIso()}, {"seq", ++seq_}, {"type", std::string(type)}};
  if (fields.is_object()) {
    Json redacted = RedactAll(fields, redactor_);
    for (auto& [key, value] : redacted.items()) {
      if (key != "t" && key != "seq" && key != "type") event[key] = std::move(value);
    }
  }
  // Model text and file contents may hold invalid UTF-8; replace it rather than fail.
  std::string line = event.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, "transcript " + path_.string() + ": " + std::strerror(errno));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace drover::agent
