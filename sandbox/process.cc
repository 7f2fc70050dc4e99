#include "sandbox/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace drover::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// Keeps the first and last halves of a stream within `limit` bytes.
class HeadTailBuffer {
 public:
  explicit HeadTailBuffer(size_t limit) : limit_(limit) {}

  void Append(const char* data, size_t n) {
    total_ += n;
    size_t head_room = limit_ / 2 > head_.size() ? limit_ / 2 - head_.size() : 0;
    size_t to_head = std::min(head_room, n);
    head_.append(data, to_head);
    data += to_head;
    n -= to_head;
    if (n == 0) return;
    tail_.append(data, n);
    size_t tail_limit = limit_ - limit_ / 2;
    if (tail_.size() > 2 * tail_limit + 4096) tail_.erase(0, tail_.size() - tail_limit);
  }

  std::string Take() {
    size_t tail_limit = limit_ - limit_ / 2;
    if (tail_.size() > tail_limit) tail_.erase(0, tail_.size() - tail_limit);
    // Whether anything was dropped depends on the totals, not on the tail's size: Append may
    // already have cut the tail down to exactly its limit.
    size_t dropped = total_ - head_.size() - tail_.size();
    if (dropped > 0) {
      return head_ + "\n[... " + std::to_string(dropped) + " bytes of output omitted ...]\n" +
             tail_;
    }
    return head_ + tail_;
  }

  size_t total() const { return total_; }

 private:
  size_t limit_;
  size_t total_ = 0;
  std::string head_;
  std::string tail_;
};

// A log file that takes the first half of a stream as it arrives and, at the end, a line
// with the count of bytes dropped and the last half (held until then within its half).
class CappedLog {
 public:
  CappedLog(int fd, size_t limit)
      : fd_(fd), head_limit_(limit / 2), tail_limit_(limit - limit / 2) {}
  CappedLog(const CappedLog&) = delete;
  CappedLog& operator=(const CappedLog&) = delete;

  void Append(const char* data, size_t n) {
    if (fd_ < 0) return;
    total_ += n;
    size_t to_head = std::min(head_limit_ - head_, n);
    if (to_head > 0) {
      WriteAll(data, to_head);
      head_ += to_head;
      data += to_head;
      n -= to_head;
    }
    if (n == 0) return;
    tail_.append(data, n);
    if (tail_.size() > 2 * tail_limit_ + 4096) tail_.erase(0, tail_.size() - tail_limit_);
  }

  void Close() {
    if (fd_ < 0) return;
    if (tail_.size() > tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
    size_t dropped = total_ - head_ - tail_.size();
    if (dropped > 0) {
      std::string marker = "\n[drover: " + std::to_string(dropped) +
                           " bytes dropped here; the log keeps the first and the last " +
                           std::to_string(tail_limit_) + " bytes of " + std::to_string(total_) +
                           "]\n";
      WriteAll(marker.data(), marker.size());
    }
    WriteAll(tail_.data(), tail_.size());
    ::close(fd_);
    fd_ = -1;
  }

  ~CappedLog() { Close(); }

 private:
  void WriteAll(const char* data, size_t n) {
    while (n > 0) {
      ssize_t wrote = ::write(fd_, data, n);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) return;
      data += wrote;
      n -= static_cast<size_t>(wrote);
    }
  }

  int fd_;
  size_t head_limit_;
  size_t tail_limit_;
  size_t head_ = 0;
  size_t total_ = 0;
  std::string tail_;
};

// Everything the child needs, prepared before it is started.
struct ChildPlan {
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  std::string exe;  // Resolved program path.
  std::string cwd;
};

std::string ResolveProgram(const std::string& name, const std::map<std::string, std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  auto it = env.find("PATH");
  std::string path = it != env.end() ? it->second : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

void KillGroup(pid_t pgid) {
  if (pgid > 0) ::kill(-pgid, SIGKILL);
}

// Kills every process whose session is `sid`: the command's nested commands live in their own
// process groups of that session, so a group kill alone would leave them running.
void KillSession(pid_t sid) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (::getsid(pid) == sid) ::kill(pid, SIGKILL);
  }
}

// Spawn attributes and file actions for the command: a session or group of its own, stdin
// from `in_fd` or /dev/null, stdout and stderr to `out_fd`, no other inherited descriptor,
// the working directory, default SIGPIPE and no blocked signals. posix_spawn starts the
// child without copying this process's page tables (vfork-style), which matters when a
// runner with many threads and a large heap starts thousands of commands.
class SpawnSetup {
 public:
  SpawnSetup(const ChildPlan& plan, int out_fd, int in_fd) {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
    // A command started by a drover process that leads its own session (the agent) stays in
    // that session, in a group of its own: killable alone on its timeout, and swept with the
    // session when its parent is killed. Anything else gets a new session: no controlling
    // terminal, and a session the runner can sweep.
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (::getsid(0) == ::getpid()) {
      flags |= POSIX_SPAWN_SETPGROUP;
      posix_spawnattr_setpgroup(&attr_, 0);
    } else {
      flags |= POSIX_SPAWN_SETSID;
    }
    posix_spawnattr_setflags(&attr_, flags);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);
    if (in_fd >= 0) {
      posix_spawn_file_actions_adddup2(&actions_, in_fd, STDIN_FILENO);
    } else {
      posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions_, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions_, out_fd, STDERR_FILENO);
    // Inherited descriptors never reach the command.
    posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    if (!plan.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions_, plan.cwd.c_str());
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // The child's pid, or the error number of what failed before the program ran.
  std::pair<pid_t, int> Spawn(const ChildPlan& plan) {
    pid_t pid = -1;
    int err = ::posix_spawn(&pid, plan.exe.c_str(), &actions_, &attr_, plan.argv.data(),
                            plan.envp.data());
    return {pid, err};
  }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

class LocalProcessRunner final : public ProcessRunner {
 public:
  Result<ProcessResult> Run(const ProcessSpec& spec) override {
    if (spec.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "empty command");
    ChildPlan plan;
    plan.exe = ResolveProgram(spec.argv[0], spec.env);
    if (plan.exe.empty()) {
      return Fail(ErrorCode::kNotFound, "program not found on PATH: " + spec.argv[0]);
    }
    plan.argv_storage = spec.argv;
    for (auto& a : plan.argv_storage) plan.argv.push_back(a.data());
    plan.argv.push_back(nullptr);
    for (const auto& [k, v] : spec.env) plan.env_storage.push_back(k + "=" + v);
    for (auto& e : plan.env_storage) plan.envp.push_back(e.data());
    plan.envp.push_back(nullptr);
    plan.cwd = spec.cwd.string();

    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
      return Fail(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
    }
    int in_pipe[2] = {-1, -1};
    if (spec.stdin_data && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      return Fail(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
    }

    int log_fd = -1;
    if (spec.log_file) {
      log_fd = ::open(spec.log_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }

    auto started = Clock::now();
    auto [pid, spawn_error] = SpawnSetup(plan, out_pipe[1], in_pipe[0]).Spawn(plan);
    if (spawn_error != 0) {
      // A command that cannot start is a failed command, as a shell reports it: 126 when the
      // working directory is unusable, 127 when the program cannot be run.
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      if (in_pipe[0] >= 0) {
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
      }
      std::error_code ec;
      bool bad_cwd = !plan.cwd.empty() && !std::filesystem::is_directory(plan.cwd, ec);
      ProcessResult failed;
      failed.exit_code = bad_cwd ? 126 : 127;
      failed.output =
          bad_cwd ? "drover: cannot change to the working directory " + plan.cwd + "\n"
                  : "drover: cannot run " + plan.exe + ": " + std::strerror(spawn_error) + "\n";
      failed.output_bytes = failed.output.size();
      if (log_fd >= 0) {
        (void)!::write(log_fd, failed.output.data(), failed.output.size());
        ::close(log_fd);
      }
      return failed;
    }
    // posix_spawn returns once the child runs the program: its session or group exists.
    const bool leads_session = ::getsid(0) != ::getpid();
    ::close(out_pipe[1]);
    if (in_pipe[0] >= 0) {
      ::close(in_pipe[0]);
      std::string_view data = *spec.stdin_data;
      // Small inputs only (prompts, patches); larger ones would need to be interleaved.
      while (!data.empty()) {
        ssize_t n = ::write(in_pipe[1], data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        data.remove_prefix(static_cast<size_t>(n));
      }
      ::close(in_pipe[1]);
    }

    HeadTailBuffer buffer(spec.max_output_bytes);
    CappedLog log(log_fd, spec.max_log_bytes);
    ProcessResult result;
    auto deadline = started + spec.timeout;
    int status = 0;
    bool exited = false;
    char chunk[65536];
    while (true) {
      if (spec.timeout_extension) deadline = started + spec.timeout + spec.timeout_extension();
      auto now = Clock::now();
      if (now >= deadline) {
        result.timed_out = true;
        KillGroup(pid);
        break;
      }
      if (!exited) {
        // WNOWAIT leaves the leader a zombie, so its group id cannot be reused before the kill.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
          exited = true;
          // Background children die with the command; the pipe then reaches EOF.
          KillGroup(pid);
        }
      }
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      pollfd pfd{out_pipe[0], POLLIN, 0};
      int ready =
          ::poll(&pfd, 1, static_cast<int>(std::min<long long>(wait_ms, exited ? 100 : 50)));
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      ssize_t n = ::read(out_pipe[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer.Append(chunk, static_cast<size_t>(n));
      log.Append(chunk, static_cast<size_t>(n));
    }
    ::close(out_pipe[0]);
    KillGroup(pid);
    // While the leader is unreaped its pid (the session id) cannot be reused.
    if (leads_session) KillSession(pid);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    log.Close();

    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.term_signal = WTERMSIG(status);
    }
    result.output_bytes = buffer.total();
    result.output = buffer.Take();
    return result;
  }
};

}  // namespace

std::string ProcessResult::Describe() const {
  if (disk_limit_bytes != 0) {
    return "stopped at the disk limit (" + std::to_string(disk_limit_bytes >> 20) + " MiB)";
  }
  if (timed_out) {
    return "timed out after " + std::to_string(duration.count() / 1000) + "s";
  }
  if (term_signal != 0) return "killed by signal " + std::to_string(term_signal);
  return "exit " + std::to_string(exit_code);
}

std::unique_ptr<ProcessRunner> MakeLocalProcessRunner() {
  return std::make_unique<LocalProcessRunner>();
}

std::map<std::string, std::string> BaseEnvironment(
    const std::map<std::string, std::string>& parent) {
  static constexpr std::string_view kAllowed[] = {"PATH", "LANG", "LC_ALL", "TERM", "TZ", "HOME"};
  std::map<std::string, std::string> env;
  for (auto name : kAllowed) {
    auto it = parent.find(std::string(name));
    if (it != parent.end()) env.insert(*it);
  }
  if (!env.contains("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  return env;
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace drover::sandbox
