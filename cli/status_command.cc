#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/json.h"
#include "store/state_store.h"

namespace drover::cli {
namespace {

struct StatusFlags {
  std::string run;
  std::string state_dir;
};

// `drover status [RUN]`: a run's counts by status, its control state, the slowest jobs and
// the failed ones with their reasons, from the state store (works while the run goes on).
int StatusCommand(const std::filesystem::path& state_dir, std::string run_id, bool json) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) {
    std::fprintf(stderr, "drover status: %s\n", store.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  if (run_id.empty()) {
    auto runs = (*store)->ListRuns();
    if (!runs || runs->empty()) {
      std::fprintf(stderr, "drover status: no runs in %s\n", state_dir.c_str());
      return ToInt(ExitCode::kInvalidInput);
    }
    run_id = runs->back().run_id;
  }
  auto run = (*store)->GetRun(run_id);
  auto counts = (*store)->CountJobs(run_id);
  auto slowest = (*store)->SlowestJobs(run_id, 5, std::chrono::system_clock::now());
  auto failed = (*store)->ListJobs(run_id, fleet::JobState::kFailed);
  if (!run || !counts || !slowest || !failed) {
    std::string message = !run ? run.error().message : "reading the state store failed";
    std::fprintf(stderr, "drover status: %s\n", message.c_str());
    return ToInt(run ? ExitCode::kEnvironment : ExitCode::kInvalidInput);
  }
  Json out{{"run", run_id},
           {"migration", run->migration_id},
           {"control", fleet::RunControlName(run->control)},
           {"counts", Json::object()},
           {"slowest", Json::array()},
           {"failed", Json::array()}};
  for (const auto& [state, n] : *counts) out["counts"][std::string(fleet::JobStateName(state))] = n;
  for (const auto& d : *slowest) {
    out["slowest"].push_back({{"repository", d.job.repository},
                              {"state", fleet::JobStateName(d.job.state)},
                              {"step", d.job.step},
                              {"seconds", static_cast<double>(d.elapsed.count()) / 1000.0}});
  }
  for (const auto& job : *failed) {
    out["failed"].push_back({{"repository", job.repository}, {"reason", job.reason}});
  }
  // As last seen by `drover run` or `drover track`.
  if (auto prs = (*store)->ListPullRequests(run_id); prs && !prs->empty()) {
    out["pull_requests"] = {{"open", 0}, {"merged", 0}, {"closed", 0}};
    for (const auto& pr : *prs) {
      auto& count = out["pull_requests"][std::string(fleet::PrStateName(pr.state))];
      count = count.get<int64_t>() + 1;
    }
  }
  if (json) {
    std::cout << out.dump(2) << std::endl;
    return ToInt(ExitCode::kOk);
  }
  std::printf("run %s (%s): %s\n", run_id.c_str(), run->migration_id.c_str(),
              std::string(fleet::RunControlName(run->control)).c_str());
  for (const auto& [state, n] : out["counts"].items()) {
    std::printf("  %-15s %lld\n", state.c_str(), static_cast<long long>(n.get<int64_t>()));
  }
  if (!slowest->empty()) std::printf("slowest:\n");
  for (const auto& d : out["slowest"]) {
    std::printf("  %-30s %8.1fs  %s (%s)\n", d["repository"].get<std::string>().c_str(),
                d["seconds"].get<double>(), d["state"].get<std::string>().c_str(),
                d["step"].get<std::string>().c_str());
  }
  if (out.contains("pull_requests")) {
    const auto& prs = out["pull_requests"];
    std::printf("pull requests: %lld open, %lld merged, %lld closed\n",
                static_cast<long long>(prs["open"].get<int64_t>()),
                static_cast<long long>(prs["merged"].get<int64_t>()),
                static_cast<long long>(prs["closed"].get<int64_t>()));
  }
  if (!failed->empty()) std::printf("failed:\n");
  for (const auto& f : out["failed"]) {
    std::printf("  %-30s %s\n", f["repository"].get<std::string>().c_str(),
                f["reason"].get<std::string>().c_str());
  }
  return ToInt(ExitCode::kOk);
}

}  // namespace

CommandRun AddStatusCommand(CLI::App& cmd, Invocation& invocation) {
  auto flags = std::make_shared<StatusFlags>();
  flags->state_dir = invocation.state_dir;
  cmd.add_option("run", flags->run, "Run id (default: the latest)");
  cmd.add_option("--state-dir", flags->state_dir, "Where the runs are (default: .drover)");
  cmd.add_flag("--json", invocation.json, "Machine-readable output on stdout");
  return [flags](const Invocation& parsed) {
    return StatusCommand(std::filesystem::absolute(flags->state_dir), flags->run, parsed.json);
  };
}

}  // namespace drover::cli
