#include "cli/command.h"

namespace drover::cli {

std::span<const Command> Commands() {
  static constexpr Command kCommands[] = {
      {"run", "Run a migration over a list of repositories", AddRunCommand},
      {"agent", "One agent attempt (started by the runner)", AddAgentCommand},
      {"sandbox", "Probe the sandbox, or run a command in it", AddSandboxCommand},
      {"verify",
       "Show the verifiers drover would judge a repository by, and run them in it (build "
       "outputs land in the repository; --dry-run only shows them)",
       AddVerifyCommand},
      {"eval", "Run an eval suite through the pipeline of `drover run`; score hidden checks",
       AddEvalCommand},
      {"status", "Counts, slowest and failed jobs of a run", AddStatusCommand},
      {"cancel", "Start no further repository", AddCancelCommand},
      {"pause", "Stop starting new repositories", AddPauseCommand},
      {"resume", "Start new repositories again", AddResumeCommand},
      {"retry", "Put a run's failed (or skipped) jobs back", AddRetryCommand},
      {"report", "A run's funnel, failures, PRs and burndown", AddReportCommand},
      {"track", "Refresh the state of a run's pull requests", AddTrackCommand},
      {"discover", "Find target repositories; prints a repos file for `drover run --repos`",
       AddDiscoverCommand},
  };
  return kCommands;
}

}  // namespace drover::cli
