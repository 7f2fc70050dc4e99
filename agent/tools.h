// The tools the model may call (read_file, list_files, search, edit, write_file, run,
// find_symbol, references, verify, finish): their names, their schemas (texts in the prompts
// template agent_tools.json) and their execution, confined to the task's workspace.
// Not thread-safe: one agent loop owns its Tools.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/repomap.h"
#include "agent/task.h"
#include "agent/workspace.h"
#include "llm/model.h"
#include "sandbox/process.h"
#include "verifiers/verifier.h"

namespace drover::agent {

// The tools' names: the one place code spells them.
namespace tool_name {
inline constexpr std::string_view kReadFile = "read_file";
inline constexpr std::string_view kListFiles = "list_files";
inline constexpr std::string_view kSearch = "search";
inline constexpr std::string_view kEdit = "edit";
inline constexpr std::string_view kWriteFile = "write_file";
inline constexpr std::string_view kRun = "run";
inline constexpr std::string_view kFindSymbol = "find_symbol";
inline constexpr std::string_view kReferences = "references";
inline constexpr std::string_view kVerify = "verify";
inline constexpr std::string_view kFinish = "finish";
}  // namespace tool_name

// Every tool, in the order the model is offered them.
inline constexpr std::string_view kToolNames[] = {
    tool_name::kReadFile,  tool_name::kListFiles, tool_name::kSearch,     tool_name::kEdit,
    tool_name::kWriteFile, tool_name::kRun,       tool_name::kFindSymbol, tool_name::kReferences,
    tool_name::kVerify,    tool_name::kFinish};

inline constexpr std::string_view kToolsTemplate = "agent_tools.json";

struct ToolResult {
  std::string text;       // What the model sees (valid UTF-8).
  bool is_error = false;  // The call failed; the text says why and what was expected.
  // The call was unusable as given (invalid JSON, unknown tool, missing or mistyped fields) or
  // finish was refused: counts toward AgentLimits::max_consecutive_errors.
  bool malformed = false;
  bool finished = false;        // finish accepted: the attempt ends.
  bool not_applicable = false;  // With finished: the agent declared the migration inapplicable.
  std::string summary;          // finish: the agent's summary.
  std::string reason;           // finish: the not-applicable reason.
  // finish refused because the checks fail: their summary ("test: FAILED exit 1: ...").
  std::string refused_checks;
  std::optional<verifiers::VerifierReport> report;  // Set when verifiers ran during the call.
};

class Tools {
 public:
  // `task`, `workspace` and `processes` must outlive the Tools. `command_env` is the complete
  // environment of `run` and `verify` commands. What the workspace holds now is taken as the
  // tree under review (the runner hands over a fresh checkout): every other path is a build
  // output unless edit or write_file wrote it.
  Tools(const AgentTask& task, Workspace& workspace, sandbox::ProcessRunner& processes,
        std::map<std::string, std::string> command_env);

  // The schemas offered to the model on every call, in the order of kToolNames: each tool's
  // description and parameters from the template agent_tools.json. Errors: the template's
  // (kNotFound, kParse), kInvalidArgument naming a tool it lacks or one it has in excess.
  static Result<std::vector<ToolSchema>> LoadSchemas();
  // LoadSchemas() once, cached; empty when it failed (Agent::Run then ends on that error).
  static const std::vector<ToolSchema>& Schemas();

  // Runs one call. Never fails: every problem is an is_error result the model can act on.
  ToolResult Execute(const ToolCall& call);

  // The workspace's repo map (cached parses in task.parse_cache_dir), built on first use and
  // again after an edit, a write or a command. Fails only when the workspace cannot be listed.
  Result<const RepoMap*> Map();

 private:
  ToolResult ReadFile(const Json& args);
  ToolResult ListFiles(const Json& args);
  ToolResult Search(const Json& args);
  ToolResult Edit(const Json& args);
  ToolResult WriteFile(const Json& args);
  ToolResult Run(const Json& args);
  ToolResult FindSymbol(const Json& args);
  ToolResult References(const Json& args);
  ToolResult Verify();
  ToolResult Finish(const Json& args);
  // Removes what is neither in the tree the Tools started from nor written by edit,
  // write_file or a `run` command (its new files that .gitignore does not exclude): the
  // outputs of earlier verifier runs and ignored outputs of commands, so that every verify
  // (and the tree handed back at finish) is the checked-out commit plus the agent's edits.
  Status RemoveBuildOutputs();
  void NoteWritten(std::string_view path);

  const AgentTask& task_;
  Workspace& workspace_;
  sandbox::ProcessRunner& processes_;
  std::map<std::string, std::string> command_env_;
  // Whether files may have changed since the last verify (edits, writes, commands).
  bool changed_since_verify_ = false;
  std::optional<verifiers::VerifierReport> last_report_;
  std::optional<RepoMap> map_;
  bool map_stale_ = false;
  // Relative paths (files, links and directories) present when the Tools were made.
  std::set<std::string> initial_paths_;
  // Relative paths edit, write_file and `run` (not ignored) wrote, and their directories.
  std::set<std::string> written_paths_;
};

}  // namespace drover::agent
