// Starting processes: the only place in drover that does. A ProcessRunner runs one command
// to completion with a clean environment, its own process group and a wall-clock limit that
// kills the whole group. Implementations are safe to use from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace drover::sandbox {

struct ProcessSpec {
  std::vector<std::string> argv;  // REQUIRES: non-empty; argv[0] is looked up in env PATH.
  std::filesystem::path cwd;       // Empty: the caller's.
  // The complete environment of the child: nothing of the parent's is inherited.
  std::map<std::string, std::string> env;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Optional: asked about every 50 ms while the command runs, how much later than `timeout`
  // the deadline is now (time the command spent waiting for shared capacity, which does not
  // count against it). Called from the runner's thread; must be cheap.
  std::function<std::chrono::milliseconds()> timeout_extension;
  // Output (stdout and stderr interleaved) is kept up to this many bytes: the head and the
  // tail halves, with a marker where the middle was dropped.
  size_t max_output_bytes = 1 << 20;
  std::optional<std::string> stdin_data;
  // Where to also write the output as it arrives (e.g. a log file), appended to.
  std::optional<std::filesystem::path> log_file;
  // The log file receives at most about this many bytes of output: the first half as it
  // arrives, the last half when the command ends, with a line between saying how many bytes
  // were dropped. Default 1 MiB.
  size_t max_log_bytes = 1 << 20;
};

struct ProcessResult {
  int exit_code = -1;         // Valid when !signaled.
  int term_signal = 0;        // Non-zero when killed by a signal.
  bool timed_out = false;     // The wall-clock limit killed the group.
  std::string output;         // Head/tail-truncated combined output.
  size_t output_bytes = 0;    // Total bytes the command wrote.
  std::chrono::milliseconds duration{0};
  // Non-zero when the sandbox stopped the command for writing more than this many bytes to
  // the host's disk (SandboxPolicy::disk_bytes); term_signal then says SIGKILL.
  uint64_t disk_limit_bytes = 0;

  bool ok() const {
    return !timed_out && term_signal == 0 && exit_code == 0 && disk_limit_bytes == 0;
  }
  // "exit 2", "killed by signal 9", "timed out after 30s", "stopped at the disk limit
  // (200 MiB)".
  std::string Describe() const;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs to completion. A command that fails or times out is a ProcessResult, not an error;
  // errors are for failing to start it at all (kNotFound: no such program, kIo).
  virtual Result<ProcessResult> Run(const ProcessSpec& spec) = 0;
};

// Direct fork/exec: own process group (and session), fds >= 3 closed, clean environment,
// group killed on timeout. Isolation layers come from the sandbox policy (see README).
std::unique_ptr<ProcessRunner> MakeLocalProcessRunner();

// The environment variables a child may see by default: PATH, LANG, LC_ALL, TERM, TZ, HOME
// (as given), taken from `parent` only if present. Never any credential.
std::map<std::string, std::string> BaseEnvironment(const std::map<std::string, std::string>& parent);

// Reads the current process environment into a map.
std::map<std::string, std::string> CurrentEnvironment();

}  // namespace drover::sandbox
