// The agent loop for one attempt in one repository: Run → Step → Query → Execute, with the
// limits checked before every model call and every event written to the transcript as it
// happens. Not thread-safe: one Agent per process, used by one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/context.h"
#include "llm/model.h"
#include "agent/task.h"
#include "agent/tools.h"
#include "agent/transcript.h"
#include "agent/workspace.h"
#include "sandbox/process.h"

namespace drover::agent {

class Agent {
 public:
  // `task`, `model`, `processes` and `transcript` must outlive the Agent. `command_env` is the
  // complete environment of the commands the agent runs (the run tool, verifiers).
  // `capacity_wait`, optional, returns how long the job has waited for shared capacity so far
  // (build slots, the rate governor; as the gateway measured it): the part of that wait that
  // falls in this attempt, up to max_wall_seconds, does not count against max_wall_seconds.
  Agent(const AgentTask& task, ModelClient& model, sandbox::ProcessRunner& processes,
        Transcript& transcript, std::map<std::string, std::string> command_env,
        std::function<std::chrono::milliseconds()> capacity_wait = {});

  // Runs the attempt to its end and returns how it ended. Never fails: limits, model errors
  // and repeated malformed replies end it with kFailed, a reason and what failed.
  AgentOutcome Run();

 private:
  Status Start();
  // The first prompt's repo map section, "" when disabled or when nothing fits.
  std::string RepoMapSection();
  std::optional<std::string> LimitReached();
  void Step();
  Result<ModelReply> Query();
  ToolResult Execute(const ToolCall& call);
  // REQUIRES: status is not kFailed (EndFailed says what failed).
  void End(AgentStatus status, std::string reason);
  void EndFailed(AgentFailure failure, std::string reason);
  // A limit or being stuck while most tool calls failed: the edits did not apply.
  AgentFailure UnlessEditsFailed(AgentFailure failure) const;

  const AgentTask& task_;
  ModelClient& model_;
  Transcript& transcript_;
  Workspace workspace_;
  Tools tools_;
  ContextWindow context_;
  AgentOutcome outcome_;
  bool done_ = false;
  std::chrono::steady_clock::time_point started_;
  std::function<std::chrono::milliseconds()> capacity_wait_;
  std::chrono::milliseconds capacity_wait_at_start_{0};
  int error_turns_ = 0;  // Consecutive replies with no usable tool call.
  std::string last_error_;
  // Set when the last unusable call was a finish refused because the checks fail: their
  // summary, which is then what ends the attempt.
  std::string last_refused_checks_;
  std::string last_call_;  // Name and arguments of the previous tool call.
  int repeats_ = 0;        // How many times in a row last_call_ was made.
};

}  // namespace drover::agent
