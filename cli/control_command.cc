// `drover pause|resume|cancel RUN`: three entries of the table sharing one implementation.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "store/state_store.h"

namespace drover::cli {
namespace {

struct ControlFlags {
  std::string run;
  std::string state_dir;
};

// `drover pause|resume|cancel RUN`: seen by the running `drover run` before it starts each
// next repository (those under way finish).
int ControlCommand(const std::filesystem::path& state_dir, const std::string& run_id,
                   fleet::RunControl control) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) {
    std::fprintf(stderr, "drover: %s\n", store.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  if (auto set = (*store)->SetRunControl(run_id, control); !set) {
    std::fprintf(stderr, "drover: %s\n", set.error().message.c_str());
    return ToInt(set.error().code == ErrorCode::kNotFound ? ExitCode::kInvalidInput
                                                          : ExitCode::kUsage);
  }
  std::printf("run %s: %s\n", run_id.c_str(), std::string(fleet::RunControlName(control)).c_str());
  return ToInt(ExitCode::kOk);
}

CommandRun AddControl(CLI::App& cmd, Invocation& invocation, fleet::RunControl control) {
  auto flags = std::make_shared<ControlFlags>();
  flags->state_dir = invocation.state_dir;
  cmd.add_option("run", flags->run, "Run id")->required();
  cmd.add_option("--state-dir", flags->state_dir, "Where the runs are (default: .drover)");
  return [flags, control](const Invocation&) {
    return ControlCommand(std::filesystem::absolute(flags->state_dir), flags->run, control);
  };
}

}  // namespace

CommandRun AddPauseCommand(CLI::App& cmd, Invocation& invocation) {
  return AddControl(cmd, invocation, fleet::RunControl::kPaused);
}

CommandRun AddResumeCommand(CLI::App& cmd, Invocation& invocation) {
  return AddControl(cmd, invocation, fleet::RunControl::kRunning);
}

CommandRun AddCancelCommand(CLI::App& cmd, Invocation& invocation) {
  return AddControl(cmd, invocation, fleet::RunControl::kCancelled);
}

}  // namespace drover::cli
