// Repo-map build time over a large real tree against universal-ctags on the same tree, in
// turns within one run. What an agent waits for before its first prompt is the map built and
// rendered for the migration's terms: measured cold (no parse cache) and warm (the cache of an
// earlier job on the same mirror). For reference also the word index alone, and parsing every
// file up front (what find_symbol on a name every file holds would cost), against `ctags -R`.
// Prints wall-clock medians and CPU-time medians (all threads; ctags as a reaped child), since
// on a shared machine the wall clock also measures the neighbours.
// Usage: repomap_bench [TREE] [RUNS] [MIGRATION TEXT]
//   (default /usr/share/go-1.19/src, 5 runs, a rename in net/http; needs ctags)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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
  std::string migration = argc > 3 ? argv[3]
                                   : "In `net/http`, the `Request.ContentLength` field is "
                                     "renamed to `Request.BodyLength`: update every use.";
  std::vector<std::string> seeds = drover::agent::SeedTerms(migration);
  if (!fs::is_directory(tree)) {
    std::fprintf(stderr, "usage: repomap_bench [TREE] [RUNS]; no directory %s\n", tree.c_str());
    return 2;
  }
  fs::path scratch = fs::temp_directory_path() / "drover-repomap-bench";
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  Workspace workspace(tree);
  RepoMapOptions cold;
  RepoMapOptions warm;
  warm.cache_dir = scratch / "cache";
  RepoMap first = BuildOrDie(workspace, warm);
  std::string map_text = first.Render(seeds, 2000);  // Fills the cache for the warm runs.
  auto first_prompt = [&](const RepoMapOptions& options) {
    RepoMap map = BuildOrDie(workspace, options);
    if (map.Render(seeds, 2000) != map_text) {
      std::fprintf(stderr, "the map rendered differently from the first time\n");
      std::exit(1);
    }
    return map.stats();
  };

  auto processes = drover::sandbox::MakeLocalProcessRunner();
  drover::sandbox::ProcessSpec ctags;
  ctags.argv = {"ctags", "-R", "-f", (scratch / "tags").string(), tree.string()};
  ctags.env = {{"PATH", "/usr/bin:/bin"}};
  ctags.max_output_bytes = 4096;

  Samples index_runs;
  Samples cold_runs;
  Samples warm_runs;
  Samples all_runs;
  Samples ctags_runs;
  drover::agent::RepoMapStats cold_stats;
  drover::agent::RepoMapStats warm_stats;
  size_t definitions = 0;
  for (int run = 0; run < runs; ++run) {
    Time(index_runs, ProcessCpuMs, [&] { (void)BuildOrDie(workspace, cold); });
    Time(cold_runs, ProcessCpuMs, [&] { cold_stats = first_prompt(cold); });
    Time(warm_runs, ProcessCpuMs, [&] { warm_stats = first_prompt(warm); });
    Time(all_runs, ProcessCpuMs, [&] {
      RepoMap map = BuildOrDie(workspace, cold);
      map.ExtractAll();
      definitions = 0;
      for (size_t f = 0; f < map.paths().size(); ++f) definitions += map.File(f).definitions.size();
    });
    Time(ctags_runs, ChildrenCpuMs, [&] {
      auto result = processes->Run(ctags);
      if (!result || !result->ok()) {
        std::fprintf(stderr, "ctags failed: %s\n",
                     result ? result->Describe().c_str() : result.error().message.c_str());
        std::exit(1);
      }
    });
  }
  std::printf("tree: %s\n", tree.c_str());
  std::printf("files: %zu in the map, %zu skipped; %zu definitions when every file is parsed\n",
              cold_stats.files, cold_stats.skipped, definitions);
  std::printf(
      "first prompt: %zu seed terms, map of %zu bytes; cold parsed %zu files, warm took "
      "%zu from the cache and parsed %zu\n",
      seeds.size(), map_text.size(), cold_stats.parsed, warm_stats.cache_hits, warm_stats.parsed);
  std::printf("runs: %d, threads: default (%u cores)\n", runs, std::thread::hardware_concurrency());
  double ctags_wall = MedianMs(ctags_runs.wall);
  double ctags_cpu = MedianMs(ctags_runs.cpu);
  auto row = [&](const char* name, const Samples& samples) {
    double wall = MedianMs(samples.wall);
    double cpu = MedianMs(samples.cpu);
    std::printf("%-28s wall %9.1f ms (%5.2fx ctags)   cpu %9.1f ms (%5.2fx ctags)\n", name, wall,
                wall / ctags_wall, cpu, cpu / ctags_cpu);
  };
  row("word index only:", index_runs);
  row("first prompt, cold:", cold_runs);
  row("first prompt, warm cache:", warm_runs);
  row("every file parsed, cold:", all_runs);
  std::printf("%-28s wall %9.1f ms                 cpu %9.1f ms\n", "ctags -R:", ctags_wall,
              ctags_cpu);
  fs::remove_all(scratch);
  return 0;
}
