#include "tests/testing/scripted_processes.h"

#include "core/fs.h"
#include "core/json.h"

namespace drover::testing {
namespace {

// The value after `flag` in argv, or "".
std::string FlagValue(const std::vector<std::string>& argv, std::string_view flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) return argv[i + 1];
  }
  return "";
}

sandbox::ProcessResult Exited(int code, std::string output) {
  sandbox::ProcessResult result;
  result.exit_code = code;
  result.output_bytes = output.size();
  result.output = std::move(output);
  return result;
}

}  // namespace

void ScriptedProcessRunner::SetAgent(AgentScript script) {
  std::lock_guard lock(mutex_);
  agent_ = std::move(script);
}

void ScriptedProcessRunner::OnCommand(const std::string& command, CommandScript script) {
  std::lock_guard lock(mutex_);
  commands_[command] = std::move(script);
}

void ScriptedProcessRunner::OnCommand(const std::string& command,
                                      std::vector<CommandReply> replies) {
  auto shared = std::make_shared<std::vector<CommandReply>>(std::move(replies));
  auto next = std::make_shared<size_t>(0);
  auto guard = std::make_shared<std::mutex>();
  OnCommand(command, [shared, next, guard](const sandbox::ProcessSpec&) {
    std::lock_guard lock(*guard);
    if (shared->empty()) return CommandReply{};
    size_t i = std::min(*next, shared->size() - 1);
    ++*next;
    return (*shared)[i];
  });
}

Result<sandbox::ProcessResult> ScriptedProcessRunner::Run(const sandbox::ProcessSpec& spec) {
  if (spec.argv.size() >= 2 && spec.argv[1] == "agent") return RunAgent(spec);
  std::string command = spec.argv.size() == 3 && spec.argv[0] == "/bin/sh" && spec.argv[1] == "-c"
                            ? spec.argv[2]
                            : spec.argv.empty() ? "" : spec.argv[0];
  CommandScript script;
  {
    std::lock_guard lock(mutex_);
    ++calls_[command];
    auto it = commands_.find(command);
    if (it == commands_.end()) {
      unscripted_.push_back(command);
    } else {
      script = it->second;
    }
  }
  if (!script) return Exited(127, "sh: " + command + ": not found (no script)\n");
  CommandReply reply = script(spec);
  if (spec.log_file) (void)AppendFile(*spec.log_file, reply.output);
  return Exited(reply.exit_code, std::move(reply.output));
}

Result<sandbox::ProcessResult> ScriptedProcessRunner::RunAgent(const sandbox::ProcessSpec& spec) {
  AgentScript script;
  {
    std::lock_guard lock(mutex_);
    ++calls_["agent"];
    script = agent_;
  }
  std::filesystem::path task_file = FlagValue(spec.argv, "--task");
  std::filesystem::path result_file = FlagValue(spec.argv, "--result");
  std::filesystem::path transcript = FlagValue(spec.argv, "--transcript");
  auto text = ReadFile(task_file);
  if (!text) return Exited(2, "agent: " + text.error().message + "\n");
  auto json = ParseJson(*text, task_file.string());
  if (!json) return Exited(2, "agent: " + json.error().message + "\n");
  auto task = agent::AgentTaskFromJson(*json);
  if (!task) return Exited(2, "agent: " + task.error().message + "\n");
  std::optional<agent::AgentOutcome> outcome;
  if (script) {
    outcome = script(*task);
  } else {
    outcome = agent::AgentOutcome{};
    outcome->status = agent::AgentStatus::kFinished;
  }
  if (!transcript.empty()) (void)WriteFileAtomic(transcript, "");
  if (!outcome) return Exited(1, "agent: ended without a result\n");
  if (auto wrote = WriteFileAtomic(result_file, agent::ToJson(*outcome).dump(2)); !wrote) {
    return Exited(2, "agent: " + wrote.error().message + "\n");
  }
  return Exited(0, "");
}

int ScriptedProcessRunner::Calls(const std::string& command) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(command);
  return it == calls_.end() ? 0 : it->second;
}

std::vector<std::string> ScriptedProcessRunner::Unscripted() const {
  std::lock_guard lock(mutex_);
  return unscripted_;
}

}  // namespace drover::testing
