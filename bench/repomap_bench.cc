// Repo-map build time over a large real tree against universal-ctags on the same tree, in
// turns within one run: cold (no cache), warm (every parse in the cache) and `ctags -R`.
// Usage: repomap_bench [TREE] [RUNS]   (default /usr/share/go-1.19/src, 5 runs; needs ctags)
#include <algorithm>
#include <chrono>
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

template <typename F>
double TimeMs(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
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

  std::vector<double> cold_ms, warm_ms, ctags_ms;
  size_t warm_hits = 0;
  for (int run = 0; run < runs; ++run) {
    cold_ms.push_back(TimeMs([&] { (void)BuildOrDie(workspace, cold); }));
    warm_ms.push_back(TimeMs([&] { warm_hits = BuildOrDie(workspace, warm).stats().cache_hits; }));
    ctags_ms.push_back(TimeMs([&] {
      auto result = processes->Run(ctags);
      if (!result || !result->ok()) {
        std::fprintf(stderr, "ctags failed: %s\n",
                     result ? result->Describe().c_str() : result.error().message.c_str());
        std::exit(1);
      }
    }));
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
  double ctags_median = MedianMs(ctags_ms);
  std::printf("repo map, cold (no cache):   median %8.1f ms  (%.2fx ctags)\n", MedianMs(cold_ms),
              MedianMs(cold_ms) / ctags_median);
  std::printf("repo map, warm (%zu hits): median %8.1f ms  (%.2fx ctags)\n", warm_hits,
              MedianMs(warm_ms), MedianMs(warm_ms) / ctags_median);
  std::printf("ctags -R:                    median %8.1f ms\n", ctags_median);
  fs::remove_all(scratch);
  return 0;
}
