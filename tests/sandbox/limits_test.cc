// Memory and process-count limits (cgroup.h) as part of the escape suite: a fork bomb, a
// memory hog and a filled /tmp must stay inside their limits and leave nothing behind.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "sandbox/cgroup.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/policy.h"
#include "tests/testing/testing.h"

namespace drover::sandbox {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

// Processes other than this one whose command line contains `marker`.
int ProcessesWithMarker(const std::string& marker) {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  std::string self = std::to_string(getpid());
  while (dirent* entry = readdir(proc)) {
    std::string name = entry->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos || name == self) continue;
    std::ifstream file("/proc/" + name + "/cmdline");
    std::stringstream cmdline;
    cmdline << file.rdbuf();
    if (cmdline.str().find(marker) != std::string::npos) ++count;
  }
  closedir(proc);
  return count;
}

// Lease directories this process made that still exist.
std::vector<std::string> LeftoverLeases() {
  std::vector<std::string> left;
  std::string prefix = "drover-" + std::to_string(getpid()) + "-";
  for (const auto& parent : DetectCgroups().parents) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
      if (entry.path().filename().string().starts_with(prefix)) left.push_back(entry.path());
    }
  }
  return left;
}

// A shell fork bomb (its command lines contain `marker`) under a pid 1 that forks nothing
// itself, so the sandbox lives until the timeout: dash exits when it cannot fork.
std::vector<std::string> ForkBomb(const std::string& marker) {
  std::string bomb = ": " + marker + "; b() { b | b & }; b";
  std::string reaper =
      "import os, subprocess, time\n"
      "subprocess.Popen(['/bin/sh', '-c', '" +
      bomb +
      "'])\n"
      "while True:\n"
      "    try:\n"
      "        os.wait()\n"
      "    except ChildProcessError:\n"
      "        time.sleep(0.01)\n";
  return {"/usr/bin/python3", "-c", reaper};
}

class SandboxEscapeLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    const CgroupSupport& support = DetectCgroups();
    if (support.available) return;
    // CI runs as root on machines with writable cgroups: there, missing limits are a failure.
    if (getuid() != 0) GTEST_SKIP() << "no usable cgroup: " << support.why_not;
    FAIL() << "running as root, yet no usable cgroup: " << support.why_not;
  }

  void TearDown() override { EXPECT_EQ(LeftoverLeases(), std::vector<std::string>{}); }

  Result<ProcessResult> Run(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
    std::filesystem::create_directories(workspace_);
    auto runner = MakeIsolatedProcessRunner(policy_, DROVER_BINARY);
    ProcessSpec spec;
    spec.argv = argv;
    spec.cwd = workspace_;
    spec.env = {{"PATH", "/usr/bin:/bin"}};
    spec.timeout = timeout;
    return runner->Run(spec);
  }

  TempDir root_;
  std::filesystem::path workspace_ = root_ / "ws";
  SandboxPolicy policy_;
};

TEST_F(SandboxEscapeLimits, EscapeForkBombStaysUnderProcessLimit) {
  policy_.max_processes = 64;
  policy_.memory_bytes = 512 * kMiB;
  std::string marker = "drover-bomb-" + std::to_string(getpid());
  std::atomic<bool> done{false};
  std::atomic<int> peak{0};
  std::thread watcher([&] {
    while (!done) {
      int now = ProcessesWithMarker(marker);
      if (now > peak) peak = now;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  auto result = Run(ForkBomb(marker), std::chrono::seconds(10));
  done = true;
  watcher.join();
  ASSERT_OK(result);
  EXPECT_TRUE(result->timed_out) << result->Describe();
  EXPECT_NE(result->output.find("[drover sandbox: the process limit (64) refused a fork]"),
            std::string::npos)
      << result->Describe() << "\n"
      << result->output.substr(0, 2000);
  // The watcher sees the helper, pid 1 and the bomb. Its samples miss the briefest peaks
  // (EscapeLeasePeakStaysAtItsLimit reads the kernel's own peak), but one above the limit
  // would be an escape, and a handful shows the bomb ran.
  EXPECT_LE(peak.load(), 64);
  EXPECT_GE(peak.load(), 8);
  EXPECT_EQ(ProcessesWithMarker(marker), 0);
  // This process can still start processes.
  auto after = MakeLocalProcessRunner()->Run({.argv = {"/bin/true"}});
  ASSERT_OK(after);
  EXPECT_TRUE(after->ok());
}

TEST_F(SandboxEscapeLimits, EscapeLeasePeakStaysAtItsLimit) {
  auto lease = CgroupLease::Create(0, 16);
  ASSERT_OK(lease);
  // The runner uses cgroups named in the policy as they are, so the lease stays ours to read.
  policy_.cgroups = (*lease)->dirs();
  auto result = Run(ForkBomb("peak"), std::chrono::seconds(3));
  ASSERT_OK(result);
  EXPECT_TRUE(result->timed_out) << result->Describe() << "\n" << result->output.substr(0, 2000);
  EXPECT_TRUE((*lease)->PidsLimitHit());
  EXPECT_FALSE((*lease)->OomKilled());
  // 0: a kernel before pids.peak (6.1).
  uint64_t peak = (*lease)->PeakProcesses();
  EXPECT_TRUE(peak == 0 || peak == 16u) << peak;
}

TEST_F(SandboxEscapeLimits, EscapeMemoryHogIsKilled) {
  policy_.memory_bytes = 128 * kMiB;
  // Writing every byte of 1 GiB, so the pages are really charged.
  auto result = Run({"/usr/bin/python3", "-c", "b = b'x' * (1 << 30); print('survived', len(b))"},
                    std::chrono::seconds(60));
  ASSERT_OK(result);
  EXPECT_FALSE(result->ok());
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->output.find("survived"), std::string::npos);
  EXPECT_NE(result->output.find("[drover sandbox: killed by the memory limit (128 MiB)]"),
            std::string::npos)
      << result->Describe() << "\n"
      << result->output;
  // The same runner goes on with commands that fit.
  auto small =
      Run({"/usr/bin/python3", "-c", "print(len(b'x' * (16 << 20)))"}, std::chrono::seconds(60));
  ASSERT_OK(small);
  EXPECT_TRUE(small->ok()) << small->Describe() << "\n" << small->output;
  EXPECT_NE(small->output.find("16777216"), std::string::npos);
}

TEST_F(SandboxEscapeLimits, EscapeTmpfsCountsAgainstMemory) {
  policy_.memory_bytes = 128 * kMiB;
  policy_.tmp_bytes = 1ULL << 30;  // Larger than the write, so only the memory limit can stop it.
  auto result = Run({"/bin/sh", "-c",
                     "dd if=/dev/zero of=/tmp/fill bs=1M count=512 2>&1; "
                     "echo size=$(stat -c %s /tmp/fill)"},
                    std::chrono::seconds(60));
  ASSERT_OK(result);
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->output.find("size=536870912"), std::string::npos) << result->output;
  EXPECT_NE(result->output.find("[drover sandbox: killed by the memory limit (128 MiB)]"),
            std::string::npos)
      << result->Describe() << "\n"
      << result->output;
}

TEST_F(SandboxEscapeLimits, EscapeLeaseKillsItsProcessesAndRemovesItsDirectories) {
  auto lease = CgroupLease::Create(64 * kMiB, 16);
  ASSERT_OK(lease);
  std::vector<std::filesystem::path> dirs = (*lease)->dirs();
  ASSERT_EQ(dirs.size(), DetectCgroups().mode == "v2" ? 1u : 2u);
  bool v2 = DetectCgroups().mode == "v2";
  EXPECT_EQ(ReadTestFile(dirs.front() / (v2 ? "memory.max" : "memory.limit_in_bytes")),
            std::to_string(64 * kMiB) + "\n");
  EXPECT_EQ(ReadTestFile(dirs.back() / "pids.max"), "16\n");
  EXPECT_FALSE((*lease)->OomKilled());
  EXPECT_FALSE((*lease)->PidsLimitHit());

  // A plain local process that moves itself into the lease, then sleeps.
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "for d; do echo $$ > \"$d/cgroup.procs\"; done; exec sleep 1000",
               "sh"};
  for (const auto& dir : dirs) spec.argv.push_back(dir.string());
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.timeout = std::chrono::seconds(60);
  Result<ProcessResult> result = Fail(ErrorCode::kInternal, "not run");
  std::thread runner([&] { result = MakeLocalProcessRunner()->Run(spec); });
  auto joined = [&] {
    for (const auto& dir : dirs) {
      if (ReadTestFile(dir / "cgroup.procs").empty()) return false;
    }
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!joined() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(joined());
  (*lease)->KillAll();
  runner.join();
  ASSERT_OK(result);
  EXPECT_EQ(result->term_signal, SIGKILL) << result->Describe();
  EXPECT_FALSE(result->timed_out);
  for (const auto& dir : dirs) EXPECT_EQ(ReadTestFile(dir / "cgroup.procs"), "");

  lease->reset();
  for (const auto& dir : dirs) EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

}  // namespace
}  // namespace drover::sandbox
