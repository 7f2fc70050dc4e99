// The agent's transcript: JSONL, one event per line, every string redacted, each line written
// with one append and flushed at once, so a crash leaves a valid prefix. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "core/redact.h"

namespace drover::agent {

class Transcript {
 public:
  // Appends to `path`, creating it (and not its folder). A file that cannot be opened makes
  // every Write fail with kIo; the agent goes on without a transcript.
  Transcript(const std::filesystem::path& path, Redactor redactor);
  ~Transcript();
  Transcript(const Transcript&) = delete;
  Transcript& operator=(const Transcript&) = delete;

  // Writes {"t": UTC ISO-8601 time, "seq": n, "type": type, ...fields} as one line; every
  // string value (at any depth) goes through the redactor. REQUIRES: `fields` is an object or
  // null. Errors: kIo.
  Status Write(std::string_view type, const Json& fields = Json::object());

  int64_t events() const { return seq_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  Redactor redactor_;
  int fd_ = -1;
  int open_errno_ = 0;
  int64_t seq_ = 0;
};

}  // namespace drover::agent
