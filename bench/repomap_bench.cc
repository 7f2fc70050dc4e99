// Repo-map build time over a large real tree against universal-ctags on the same tree, in
// turns within one run: cold (no cache), warm (every parse in the cache) and `ctags -R`.
// Prints wall-clock medians and CPU-time medians (all threads; ctags as a reaped child), since
// on a shared machine the wall clock also measures the neighbours.
// Usage: repomap_bench [TREE] [RUNS]   (default /usr/share/go-1.19/src, 5 runs; needs ctags)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "agent/repomap.h"
#include "sandbox/process.h"

namespace fs = std::filesystem;
using drover::agent::RepoMap;
using drover::agent::RepoMapOptions;
using drover::agent::Workspace;

namespace {

double MedianMs(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

double ProcessCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ChildrenCpuMs() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto ms = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

struct Samples {
  std::vector<double> wall;
  std::vector<double> cpu;
};

// Runs `f` once, adding its wall time and the CPU time `cpu_clock` saw to `samples`.
template <typename F>
void Time(Samples& samples, double (*cpu_clock)(), F&& f) {
  double cpu_start = cpu_clock();
  auto start = std::chrono::steady_clock::now();
  f();
  samples.wall.push_back(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  samples.cpu.push_back(cpu_clock() - cpu_start);
}

// Builds the map or exits: a benchmark of a failing build would measure nothing.
RepoMap BuildOrDie(const Workspace& workspace, const RepoMapOptions& options) {
  auto map = RepoMap::Build(workspace, options);
  if (!map) {
    std::fprintf(stderr, "repo map failed: %s\n", map.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(*map);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path tree = argc > 1 ? fs::path(argv[1]) : fs::path("/usr/share/go-1.19/src");
  int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  if (!fs::is_directory(tree)) {
    std::fprintf(stderr, "usage: repomap_bench [TREE] [RUNS]; no directory %s\n",
                 tree.c_str());
    return 2;
  }
  fs::path scratch = fs::temp_directory_path() / "drover-repomap-bench";
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  Workspace workspace(tree);
  RepoMapOptions cold;
  RepoMapOptions warm;
  warm.cache_dir = scratch / "cache";
  RepoMap first = BuildOrDie(workspace, warm);  // Fills the cache.

  auto processes = drover::sandbox::MakeLocalProcessRunner();
  drover::sandbox::ProcessSpec ctags;
  ctags.argv = {"ctags", "-R", "-f", (scratch / "tags").string(), tree.string()};
  ctags.env = {{"PATH", "/usr/bin:/bin"}};
  ctags.max_output_bytes = 4096;

  Samples cold_runs;
  Samples warm_runs;
  Samples ctags_runs;
  size_t warm_hits = 0;
  for (int run = 0; run < runs; ++run) {
    Time(cold_runs, ProcessCpuMs, [&] { (void)BuildOrDie(workspace, cold); });
    Time(warm_runs, ProcessCpuMs,
         [&] { warm_hits = BuildOrDie(workspace, warm).stats().cache_hits; });
    Time(ctags_runs, ChildrenCpuMs, [&] {
      auto result = processes->Run(ctags);
      if (!result || !result->ok()) {
        std::fprintf(stderr, "ctags failed: %s\n",
                     result ? result->Describe().c_str() : result.error().message.c_str());
        std::exit(1);
      }
    });
  }
  size_t definitions = 0;
  size_t names = 0;
  for (const auto& file : first.files()) {
    definitions += file.definitions.size();
    names += file.references.size();
  }
  const auto& stats = first.stats();
  std::printf("tree: %s\n", tree.c_str());
  std::printf("files: %zu in the map (%zu parsed with a grammar, %zu skipped); %zu definitions, "
              "%zu referenced names per file summed\n",
              stats.files, stats.parsed, stats.skipped, definitions, names);
  std::printf("runs: %d, threads: default (%u cores)\n", runs, std::thread::hardware_concurrency());
  double ctags_wall = MedianMs(ctags_runs.wall);
  double ctags_cpu = MedianMs(ctags_runs.cpu);
  auto row = [&](const char* name, const Samples& samples) {
    double wall = MedianMs(samples.wall);
    double cpu = MedianMs(samples.cpu);
    std::printf("%-28s wall %9.1f ms (%5.2fx ctags)   cpu %9.1f ms (%5.2fx ctags)\n", name, wall,
                wall / ctags_wall, cpu, cpu / ctags_cpu);
  };
  row("repo map, cold (no cache):", cold_runs);
  row(("repo map, warm (" + std::to_string(warm_hits) + " hits):").c_str(), warm_runs);
  std::printf("%-28s wall %9.1f ms                 cpu %9.1f ms\n", "ctags -R:", ctags_wall,
              ctags_cpu);
  fs::remove_all(scratch);
  return 0;
}
