// A ProcessRunner that starts no process: it plays `drover agent` and the verifiers by script,
// so that the runner's decisions can be tested in milliseconds with no model and no build.
// Thread-safe: Run may be called from many job threads at once; set the scripts before.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/task.h"
#include "sandbox/process.h"

namespace drover::testing {

// The agent's part: it gets the task the runner wrote (task.workspace is the working copy to
// edit, task.attempt and task.previous_attempt_feedback say which try this is) and returns
// its outcome, or nullopt to end without a result.json (as an agent that crashed).
using AgentScript =
    std::function<std::optional<agent::AgentOutcome>(const agent::AgentTask& task)>;

// One run of a scripted command.
struct CommandReply {
  int exit_code = 0;
  std::string output;
};
using CommandScript = std::function<CommandReply(const sandbox::ProcessSpec& spec)>;

class ScriptedProcessRunner : public sandbox::ProcessRunner {
 public:
  // `<drover> agent --task T --transcript X --result R`: runs the script on the task read
  // from T, writes its outcome to R (agent/task.h's format) and an empty transcript to X.
  // Without a script the agent finishes without changing anything.
  void SetAgent(AgentScript script);
  // `/bin/sh -c COMMAND` (how verifiers and set-up commands run) with this exact COMMAND.
  void OnCommand(const std::string& command, CommandScript script);
  // Replies in turn, the last one for every run after.
  void OnCommand(const std::string& command, std::vector<CommandReply> replies);

  // Answers a command by its script (its output also appended to spec.log_file, as the real
  // runner does). A command with no script exits 127 and is listed by Unscripted().
  Result<sandbox::ProcessResult> Run(const sandbox::ProcessSpec& spec) override;

  int Calls(const std::string& command) const;  // Runs of COMMAND so far; "agent" for agents.
  std::vector<std::string> Unscripted() const;

 private:
  Result<sandbox::ProcessResult> RunAgent(const sandbox::ProcessSpec& spec);

  mutable std::mutex mutex_;
  AgentScript agent_;
  std::map<std::string, CommandScript> commands_;
  std::map<std::string, int> calls_;
  std::vector<std::string> unscripted_;
};

}  // namespace drover::testing
