// The whole isolated start of one command as the runner pays it (cgroup lease with memory and
// pids limits, the helper, namespaces, new root, Landlock, seccomp, exec, teardown) against
// bubblewrap started the same way, through the same local process runner, in turns; and the
// same start with a job's policy (toolchains found from PATH, a disk limit).
// Usage: sandbox_bench DROVER_BINARY [RUNS]   (needs bwrap: apt-get install bubblewrap)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/cgroup.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/process.h"
#include "sandbox/toolchains.h"

using drover::sandbox::ProcessRunner;
using drover::sandbox::ProcessSpec;

namespace {

double MedianMs(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// Milliseconds from start to exit of one run, or a negative number when it failed.
double TimeOne(ProcessRunner& runner, const ProcessSpec& spec) {
  auto start = std::chrono::steady_clock::now();
  auto result = runner.Run(spec);
  auto end = std::chrono::steady_clock::now();
  if (!result || !result->ok()) {
    std::fprintf(stderr, "failed: %s\n",
                 result ? (result->Describe() + " " + result->output).c_str()
                        : result.error().message.c_str());
    return -1;
  }
  return std::chrono::duration<double, std::milli>(end - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sandbox_bench DROVER_BINARY [RUNS]\n");
    return 2;
  }
  std::filesystem::path drover = std::filesystem::absolute(argv[1]);
  int runs = argc > 2 ? std::atoi(argv[2]) : 100;
  auto workspace = std::filesystem::temp_directory_path() / "drover-sandbox-bench";
  std::filesystem::create_directories(workspace);

  drover::sandbox::SandboxPolicy policy;
  policy.workspace = workspace;
  auto isolated = drover::sandbox::MakeIsolatedProcessRunner(policy, drover);
  // As a job's verifier run gets it: this machine's toolchains (and what they must hide) and
  // the default disk limit (sandbox.disk_mb: 10240), whose watchdog then runs.
  drover::sandbox::SandboxPolicy job_policy = policy;
  job_policy.read_only_paths =
      drover::sandbox::FindToolchains(drover::sandbox::CurrentEnvironment()).read_only_paths;
  job_policy.disk_bytes = 10240ULL << 20;
  auto made = std::chrono::steady_clock::now();
  auto job = drover::sandbox::MakeIsolatedProcessRunner(job_policy, drover);
  double made_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - made).count();
  auto local = drover::sandbox::MakeLocalProcessRunner();
  ProcessSpec ours;
  ours.argv = {"true"};
  ours.cwd = workspace;
  ours.env = {{"PATH", "/usr/bin:/bin"}};
  ProcessSpec bwrap = ours;
  bwrap.argv = {"bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"};
  ProcessSpec plain = ours;

  std::vector<double> ours_ms, job_ms, bwrap_ms, plain_ms;
  for (int i = 0; i < runs + 3; ++i) {  // The first three warm the caches and are dropped.
    double a = TimeOne(*isolated, ours);
    double j = TimeOne(*job, ours);
    double b = TimeOne(*local, bwrap);
    double c = TimeOne(*local, plain);
    if (a < 0 || j < 0 || b < 0 || c < 0) return 1;
    if (i < 3) continue;
    ours_ms.push_back(a);
    job_ms.push_back(j);
    bwrap_ms.push_back(b);
    plain_ms.push_back(c);
  }
  std::filesystem::remove_all(workspace);
  const auto& cgroups = drover::sandbox::DetectCgroups();
  double o = MedianMs(ours_ms), b = MedianMs(bwrap_ms), p = MedianMs(plain_ms);
  std::printf("runs each: %d, through the local process runner, medians\n", runs);
  std::printf("true (no sandbox):           %7.2f ms\n", p);
  std::printf("bwrap --unshare-all:         %7.2f ms\n", b);
  std::printf("drover isolated runner:      %7.2f ms   (cgroup limits: %s)\n", o,
              cgroups.available ? cgroups.mode.c_str() : "unavailable");
  std::printf("ratio drover/bwrap:          %7.2f\n", o / b);
  std::printf("added by drover over true:   %7.2f ms\n", o - p);
  std::printf(
      "as a job's verifier run:     %7.2f ms   (%zu toolchain paths, disk limit; the\n"
      "                                          runner made in %.0f ms, scan included)\n",
      MedianMs(job_ms), job_policy.read_only_paths.size(), made_ms);
  return 0;
}
