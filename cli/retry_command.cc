#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "store/state_store.h"

namespace drover::cli {
namespace {

struct RetryFlags {
  std::string run;
  std::string status = "failed";
  std::string state_dir;
};

// `drover retry RUN --status failed`: those jobs go back to pending; the next `drover run`
// with this run id works on them again (and only on them, with the others finished).
int RetryCommand(const std::filesystem::path& state_dir, const std::string& run_id,
                 const std::string& status) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) {
    std::fprintf(stderr, "drover retry: %s\n", store.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  static const std::map<std::string, fleet::JobState> kStates = {
      {"failed", fleet::JobState::kFailed},
      {"skipped", fleet::JobState::kSkipped},
      {"not_applicable", fleet::JobState::kNotApplicable}};
  auto retried = (*store)->RetryJobs(run_id, kStates.at(status), std::chrono::system_clock::now());
  if (!retried) {
    std::fprintf(stderr, "drover retry: %s\n", retried.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  std::printf(
      "run %s: %zu %s job(s) will run again; start them with `drover run ... --run-id %s`\n",
      run_id.c_str(), retried->size(), status.c_str(), run_id.c_str());
  for (const auto& job : *retried) std::printf("  %s\n", job.repository.c_str());
  return ToInt(ExitCode::kOk);
}

}  // namespace

CommandRun AddRetryCommand(CLI::App& cmd, Invocation& invocation) {
  auto flags = std::make_shared<RetryFlags>();
  flags->state_dir = invocation.state_dir;
  cmd.add_option("run", flags->run, "Run id")->required();
  cmd.add_option("--status", flags->status, "failed (default), skipped or not_applicable")
      ->check(CLI::IsMember({"failed", "skipped", "not_applicable"}));
  cmd.add_option("--state-dir", flags->state_dir, "Where the runs are (default: .drover)");
  return [flags](const Invocation&) {
    return RetryCommand(std::filesystem::absolute(flags->state_dir), flags->run, flags->status);
  };
}

}  // namespace drover::cli
