// The table of drover's subcommands: each has a name, a one-line help (what `drover --help`
// and a usage error list) and a function that registers its options and returns how it runs.
// Each entry is defined in its own *_command.cc. Not thread-safe: main() uses it once.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "core/log.h"

namespace CLI {
class App;
}  // namespace CLI

namespace drover::cli {

// What every command may read. `env`, `self` and `state_dir` are set before the commands
// register their options; `json` and `log_level` are filled by parsing.
struct Invocation {
  std::map<std::string, std::string> env;
  std::filesystem::path self;  // The drover binary, for sandbox helpers and agents it starts.
  std::string state_dir;       // Default of --state-dir: $DROVER_STATE_DIR, else ".drover".
  bool json = false;           // --json, global or the command's own.
  LogLevel log_level = LogLevel::kWarn;  // --log-level (stderr).
};

// Runs a parsed command; returns the process's exit code (cli/exit_code.h, or the command's
// own for `sandbox -- CMD`).
using CommandRun = std::function<int(const Invocation&)>;

struct Command {
  std::string_view name;
  std::string_view help;  // One line.
  // Adds the command's options to `cmd` (made from name and help). The options are bound to
  // state the returned function owns, and to `invocation` (which outlives parsing).
  CommandRun (*add)(CLI::App& cmd, Invocation& invocation);
};

// Every subcommand, in the order the help lists them. Hidden helper modes (`__sandbox`) are
// not in it: main() dispatches them before anything else.
std::span<const Command> Commands();

// The table's entries, one file each.
CommandRun AddRunCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddAgentCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddSandboxCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddVerifyCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddEvalCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddStatusCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddCancelCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddPauseCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddResumeCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddRetryCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddReportCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddTrackCommand(CLI::App& cmd, Invocation& invocation);
CommandRun AddDiscoverCommand(CLI::App& cmd, Invocation& invocation);

}  // namespace drover::cli
