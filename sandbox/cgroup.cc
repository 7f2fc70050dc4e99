#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <thread>

#include "core/fs.h"

namespace drover::sandbox {
namespace {

namespace fs = std::filesystem;

// Emptying a cgroup and removing it are both asynchronous in the kernel (exiting tasks linger
// for a moment); these bound how long we wait for either.
constexpr auto kSettleTime = std::chrono::seconds(2);
constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::atomic<uint64_t> next_child{0};

std::string NextChildName() {
  return "drover-" + std::to_string(getpid()) + "-" + std::to_string(next_child++);
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool Contains(const std::vector<std::string_view>& words, std::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Status WriteCgroupFile(const fs::path& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  bool written =
      fd >= 0 && write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  int saved = errno;
  if (fd >= 0) close(fd);
  if (!written) {
    return Fail(ErrorCode::kIo,
                "writing \"" + value + "\" to " + path.string() + ": " + std::strerror(saved));
  }
  return {};
}

// The number after `key` in a "key N" per line file (memory.events, pids.events, ...).
std::optional<uint64_t> ReadKeyed(const fs::path& path, std::string_view key) {
  auto text = ReadFile(path);
  if (!text) return std::nullopt;
  for (std::string_view line : Split(*text, '\n')) {
    auto words = Split(line, ' ');
    if (words.size() == 2 && words[0] == key) {
      return std::strtoull(std::string(words[1]).c_str(), nullptr, 10);
    }
  }
  return std::nullopt;
}

std::vector<pid_t> ReadPids(const fs::path& dir) {
  std::vector<pid_t> pids;
  auto text = ReadFile(dir / "cgroup.procs");
  if (!text) return pids;
  for (std::string_view line : Split(*text, '\n')) {
    if (!line.empty()) {
      pids.push_back(static_cast<pid_t>(std::strtol(std::string(line).c_str(), nullptr, 10)));
    }
  }
  return pids;
}

// Kills what `dir` holds. A pid read from cgroup.procs may exit and be reused by a stranger
// before we signal it; a pidfd taken first and a second read showing the pid still there
// prove the pidfd is the member (a reused number would leave the pidfd pointing at the dead
// process, which signals nothing).
void KillListed(const fs::path& dir, const std::vector<pid_t>& listed) {
  std::vector<std::pair<pid_t, int>> handles;
  for (pid_t pid : listed) {
    // Through syscall(): Debian 12's <sys/pidfd.h> lacks extern "C" and does not link from C++.
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) handles.emplace_back(pid, fd);
  }
  std::vector<pid_t> still = ReadPids(dir);
  for (auto [pid, fd] : handles) {
    if (std::find(still.begin(), still.end(), pid) != still.end()) {
      syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
    }
    close(fd);
  }
}

// This process's cgroup path per hierarchy: key "" for v2, else each v1 controller's name.
std::map<std::string, std::string> OwnCgroupPaths() {
  std::map<std::string, std::string> paths;
  auto text = ReadFile("/proc/self/cgroup");
  if (!text) return paths;
  for (std::string_view line : Split(*text, '\n')) {
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (line.substr(0, first) == "0" && controllers.empty()) {
      paths[""] = path;
      continue;
    }
    for (std::string_view controller : Split(controllers, ',')) {
      if (!controller.empty()) paths[std::string(controller)] = path;
    }
  }
  return paths;
}

// mountinfo escapes blanks in paths as octal (\040).
std::string Unescape(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      std::string digits(field.substr(i + 1, 3));
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// Where this process's cgroup of one hierarchy is visible: the v2 one for `controller` "",
// else the v1 hierarchy carrying `controller`. Empty when not mounted where we can see it.
fs::path OwnCgroupDir(const std::map<std::string, std::string>& own, const std::string& controller,
                      fs::path* mount_point) {
  auto found = own.find(controller);
  if (found == own.end()) return {};
  fs::path cgroup_path = fs::path(found->second).lexically_normal();
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  if (!mountinfo) return {};
  for (std::string_view line : Split(*mountinfo, '\n')) {
    auto fields = Split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
    std::string_view fstype = dash[1];
    if (controller.empty() ? fstype != "cgroup2"
                           : fstype != "cgroup" || !Contains(Split(dash[3], ','), controller)) {
      continue;
    }
    // A mount may show only a subtree of the hierarchy (its root field), e.g. in containers
    // without a cgroup namespace; our cgroup must lie inside it.
    fs::path root = fs::path(Unescape(fields[3])).lexically_normal();
    fs::path relative = cgroup_path.lexically_relative(root);
    if (relative.empty() || *relative.begin() == "..") continue;
    fs::path point = Unescape(fields[4]);
    if (mount_point != nullptr) *mount_point = point;
    return relative == "." ? point : (point / relative).lexically_normal();
  }
  return {};
}

// Makes and removes a child of `parent`, checking that the files a lease writes are there.
std::string TryChild(const fs::path& parent, const std::vector<std::string>& files) {
  fs::path child = parent / NextChildName();
  if (mkdir(child.c_str(), 0755) != 0) {
    return "cannot create a child of " + parent.string() + ": " + std::strerror(errno);
  }
  std::string missing;
  for (const auto& file : files) {
    if (access((child / file).c_str(), W_OK) != 0) missing += " " + file;
  }
  rmdir(child.c_str());
  if (!missing.empty()) return "a child of " + parent.string() + " lacks writable" + missing;
  return {};
}

std::string FindV2(const std::map<std::string, std::string>& own, CgroupSupport& support) {
  fs::path mount_point;
  fs::path dir = OwnCgroupDir(own, "", &mount_point);
  if (dir.empty()) return "cgroup v2: this process's cgroup is not mounted here";
  std::string controllers = Trimmed(ReadFile(dir / "cgroup.controllers").value_or(""));
  auto offered = Split(controllers, ' ');
  if (!Contains(offered, "memory") || !Contains(offered, "pids")) {
    return "cgroup v2: " + dir.string() + " has no memory/pids controllers delegated (offers \"" +
           controllers + "\")";
  }
  // A child only gets the controllers its parent enables in cgroup.subtree_control, and a
  // non-root cgroup holding processes (ours holds us) may enable none ("no internal
  // processes"). Then leases go beside our cgroup: the parent has them enabled already, since
  // our cgroup.controllers lists them.
  fs::path parent = dir;
  auto enabled = Split(Trimmed(ReadFile(dir / "cgroup.subtree_control").value_or("")), ' ');
  if (!Contains(enabled, "memory") || !Contains(enabled, "pids")) {
    auto status = WriteCgroupFile(dir / "cgroup.subtree_control", "+memory +pids");
    if (!status) {
      if (dir == mount_point) return "cgroup v2: " + status.error().message;
      parent = dir.parent_path();
    }
  }
  std::string why = TryChild(parent, {"cgroup.procs", "memory.max", "pids.max"});
  if (!why.empty()) return "cgroup v2: " + why;
  support.mode = "v2";
  support.parents = {parent};
  return {};
}

std::string FindV1(const std::map<std::string, std::string>& own, CgroupSupport& support) {
  fs::path memory = OwnCgroupDir(own, "memory", nullptr);
  fs::path pids = OwnCgroupDir(own, "pids", nullptr);
  if (memory.empty() || pids.empty()) {
    return std::string("cgroup v1: no ") + (memory.empty() ? "memory" : "pids") +
           " hierarchy mounted for this process";
  }
  std::string why = TryChild(memory, {"cgroup.procs", "memory.limit_in_bytes"});
  if (why.empty()) why = TryChild(pids, {"cgroup.procs", "pids.max"});
  if (!why.empty()) return "cgroup v1: " + why;
  support.mode = "v1";
  support.parents = {memory, pids};
  return {};
}

CgroupSupport Detect() {
  CgroupSupport support;
  auto own = OwnCgroupPaths();
  if (own.empty()) {
    support.why_not = "/proc/self/cgroup lists no cgroup";
    return support;
  }
  std::string v2 = FindV2(own, support);
  if (v2.empty()) {
    support.available = true;
    return support;
  }
  std::string v1 = FindV1(own, support);
  if (v1.empty()) {
    support.available = true;
    return support;
  }
  support.why_not = v2 + "; " + v1;
  return support;
}

}  // namespace

// Leases of drover processes that died without cleaning up (SIGKILL): empty directories
// named after a pid that no longer runs. rmdir refuses a cgroup that still holds processes.
void SweepDeadLeases(const std::vector<fs::path>& parents) {
  for (const auto& parent : parents) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
      std::string name = entry.path().filename().string();
      if (!name.starts_with("drover-")) continue;
      size_t dash = name.find('-', 7);
      if (dash == std::string::npos) continue;
      pid_t owner = static_cast<pid_t>(std::atoi(name.substr(7, dash - 7).c_str()));
      if (owner <= 0 || owner == getpid() || kill(owner, 0) == 0 || errno != ESRCH) continue;
      (void)rmdir(entry.path().c_str());
    }
  }
}

const CgroupSupport& DetectCgroups() {
  static const CgroupSupport support = [] {
    CgroupSupport detected = Detect();
    if (detected.available) SweepDeadLeases(detected.parents);
    return detected;
  }();
  return support;
}

Result<std::unique_ptr<CgroupLease>> CgroupLease::Create(uint64_t memory_bytes,
                                                         uint64_t max_processes) {
  const CgroupSupport& support = DetectCgroups();
  if (!support.available) {
    return Fail(ErrorCode::kNotFound, "no usable cgroup: " + support.why_not);
  }
  std::unique_ptr<CgroupLease> lease(new CgroupLease());
  lease->mode_ = support.mode;
  std::string name = NextChildName();
  for (const auto& parent : support.parents) {
    fs::path dir = parent / name;
    if (mkdir(dir.c_str(), 0755) != 0) {
      return Fail(ErrorCode::kIo, "creating cgroup " + dir.string() + ": " + std::strerror(errno));
    }
    lease->dirs_.push_back(dir);
  }
  const fs::path& memory_dir = lease->dirs_.front();
  const fs::path& pids_dir = lease->dirs_.back();
  Status status;
  if (memory_bytes != 0) {
    std::string limit = std::to_string(memory_bytes);
    if (lease->mode_ == "v2") {
      status = WriteCgroupFile(memory_dir / "memory.max", limit);
      if (status && access((memory_dir / "memory.swap.max").c_str(), F_OK) == 0) {
        status = WriteCgroupFile(memory_dir / "memory.swap.max", "0");
      }
    } else {
      status = WriteCgroupFile(memory_dir / "memory.limit_in_bytes", limit);
      // memsw counts memory plus swap and may not be set below limit_in_bytes, hence after.
      if (status && access((memory_dir / "memory.memsw.limit_in_bytes").c_str(), F_OK) == 0) {
        status = WriteCgroupFile(memory_dir / "memory.memsw.limit_in_bytes", limit);
      }
    }
  }
  if (status && max_processes != 0) {
    status = WriteCgroupFile(pids_dir / "pids.max", std::to_string(max_processes));
  }
  if (!status) return Fail(status.error());
  return lease;
}

CgroupLease::~CgroupLease() {
  KillAll();
  for (auto dir = dirs_.rbegin(); dir != dirs_.rend(); ++dir) {
    auto deadline = std::chrono::steady_clock::now() + kSettleTime;
    while (rmdir(dir->c_str()) != 0 && errno != ENOENT) {
      if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) {
        spdlog::warn("cgroup {} not removed: {}", dir->string(), std::strerror(errno));
        break;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
}

void CgroupLease::KillAll() {
  if (dirs_.empty()) return;
  bool can_kill_all = mode_ == "v2" && access((dirs_.front() / "cgroup.kill").c_str(), F_OK) == 0;
  auto deadline = std::chrono::steady_clock::now() + kSettleTime;
  while (true) {
    bool empty = true;
    for (const auto& dir : dirs_) {
      std::vector<pid_t> pids = ReadPids(dir);
      if (pids.empty()) continue;
      empty = false;
      // cgroup.kill also catches what forks between our read and our kill.
      if (!can_kill_all || !WriteCgroupFile(dir / "cgroup.kill", "1")) KillListed(dir, pids);
    }
    if (empty) return;
    if (std::chrono::steady_clock::now() > deadline) {
      spdlog::warn("cgroup {} still has processes after SIGKILL", dirs_.front().string());
      return;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool CgroupLease::OomKilled() const {
  const fs::path& dir = dirs_.front();
  if (mode_ == "v2") return ReadKeyed(dir / "memory.events", "oom_kill").value_or(0) > 0;
  // oom_control counts kills since Linux 4.13; before, a hit limit is the best we know.
  if (auto kills = ReadKeyed(dir / "memory.oom_control", "oom_kill")) return *kills > 0;
  auto failcnt = ReadFile(dir / "memory.failcnt");
  return failcnt && std::strtoull(failcnt->c_str(), nullptr, 10) > 0;
}

bool CgroupLease::PidsLimitHit() const {
  return ReadKeyed(dirs_.back() / "pids.events", "max").value_or(0) > 0;
}

uint64_t CgroupLease::PeakProcesses() const {
  auto peak = ReadFile(dirs_.back() / "pids.peak");
  return peak ? std::strtoull(peak->c_str(), nullptr, 10) : 0;
}

}  // namespace drover::sandbox
