// drover's composition root: parses the command line, picks implementations, owns stdout,
// the log sinks and the exit code. No business logic lives here: each subcommand is an entry
// of the table in cli/command.h, in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/log.h"
#include "core/redact.h"
#include "prompts/prompts.h"
#include "sandbox/helper.h"
#include "sandbox/helper_main.h"
#include "sandbox/process.h"

namespace drover::cli {
namespace {

std::filesystem::path SelfPath(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) return self;
  return std::filesystem::absolute(argv0);
}

std::string DefaultStateDir(const std::map<std::string, std::string>& env) {
  if (auto it = env.find("DROVER_STATE_DIR"); it != env.end() && !it->second.empty()) {
    return it->second;
  }
  return ".drover";
}

// The table's commands, one a line, for a usage error.
void PrintCommands(std::FILE* out) {
  size_t width = 0;
  for (const auto& command : Commands()) width = std::max(width, command.name.size());
  std::fprintf(out,
               "usage: drover COMMAND [OPTIONS]  (drover COMMAND --help: its options)\n\n"
               "Commands:\n");
  for (const auto& command : Commands()) {
    std::fprintf(out, "  %-*s  %.*s\n", static_cast<int>(width), std::string(command.name).c_str(),
                 static_cast<int>(command.help.size()), command.help.data());
  }
}

bool IsCommand(std::string_view name) {
  for (const auto& command : Commands()) {
    if (command.name == name) return true;
  }
  return false;
}

}  // namespace

static_assert(sandbox::kHelperUsageExit == static_cast<int>(ExitCode::kUsage));
static_assert(sandbox::kHelperSetUpFailedExit == static_cast<int>(ExitCode::kEnvironment));

int Main(int argc, char** argv) {
  // The sandbox helper runs before anything else, while the process is single-threaded.
  if (argc > 1 && std::string(argv[1]) == sandbox::kSandboxHelperCommand) {
    return sandbox::SandboxHelperMain("drover __sandbox", argc - 1, argv + 1);
  }
  if (argc == 1) {
    PrintCommands(stderr);
    return ToInt(ExitCode::kUsage);
  }
  // CLI11 answers `drover NAME --help` with the main help and 0 whatever NAME is: an unknown
  // command is a usage error, help or not.
  if (argv[1][0] != '-' && !IsCommand(argv[1])) {
    std::fprintf(stderr, "drover: unknown command \"%s\" (drover --help lists them)\n\n", argv[1]);
    PrintCommands(stderr);
    return ToInt(ExitCode::kUsage);
  }
  Invocation invocation;
  invocation.env = sandbox::CurrentEnvironment();
  invocation.self = SelfPath(argv[0]);
  invocation.state_dir = DefaultStateDir(invocation.env);
  // Every log line of every command is masked for the credentials the environment holds.
  SetLogRedactor(Redactor(SecretsFromEnvironment(invocation.env)));
  CLI::App app{"drover: one code migration across many repositories, with LLM agents"};
  app.require_subcommand(1);
  app.fallthrough();  // Global options (--log-level, --json) may follow the subcommand.
  app.set_version_flag("--version", "drover 0.1.0");
  std::string log_level = "warn";
  app.add_flag("--json", invocation.json, "Machine-readable output on stdout")->group("Output");
  app.add_option("--log-level", log_level, "debug, info, warn or error (stderr)")->group("Output");
  std::vector<std::pair<CLI::App*, CommandRun>> commands;
  for (const auto& command : Commands()) {
    CLI::App* cmd = app.add_subcommand(std::string(command.name), std::string(command.help));
    commands.emplace_back(cmd, command.add(*cmd, invocation));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : ToInt(ExitCode::kUsage);
  }

  auto level = ParseLogLevel(log_level);
  if (!level) {
    std::fprintf(stderr, "drover: %s\n", level.error().message.c_str());
    return ToInt(ExitCode::kUsage);
  }
  invocation.log_level = *level;
  if (auto dir = invocation.env.find("DROVER_PROMPTS_DIR");
      dir != invocation.env.end() && !dir->second.empty()) {
    prompts::SetOverrideDir(dir->second);
  }
  for (const auto& [cmd, run] : commands) {
    if (*cmd) return run(invocation);
  }
  return ToInt(ExitCode::kUsage);
}

}  // namespace drover::cli

int main(int argc, char** argv) { return drover::cli::Main(argc, argv); }
