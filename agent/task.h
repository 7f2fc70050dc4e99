// What the runner hands one agent process (task.json) and what it hands back (result.json).
// Value types with JSON round-trips; the files are the whole contract between the two
// processes, so every field is named and versioned here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "llm/model.h"
#include "core/error.h"
#include "core/json.h"
#include "verifiers/verifier.h"

namespace drover::agent {

struct AgentLimits {
  int max_turns = 30;                  // Model calls per attempt.
  int64_t max_tokens = 400000;          // Input + output tokens per attempt.
  // Whole attempt, model time and commands; time waiting for shared capacity (build slots, the
  // rate governor, as the gateway measures it) is not counted, up to this much again.
  int max_wall_seconds = 1800;
  int max_consecutive_errors = 3;       // Malformed replies / failing tool calls in a row.
  int command_timeout_seconds = 300;    // One `run` tool call.
  int max_output_tokens = 4096;         // Per model reply.
  // Repo map in the first prompt (bytes / 4), at most 1/16 of the context window; 0: none.
  int repo_map_tokens = 2000;
  // The model's context window (input + reply), in tokens; the thresholds of context
  // management are fixed fractions of it (agent/context.h).
  int64_t context_window_tokens = 128000;
  int max_tool_output_tokens = 6000;  // One tool result; longer ones keep their head and tail.
  // false: tool output is not truncated, nor the conversation elided or compacted (for
  // measuring what management saves).
  bool context_management = true;
};

struct AgentTask {
  std::string migration_id;
  std::string title;
  std::string instructions;     // The migration body (Markdown).
  std::string repository;       // Display name of the target ("events-py").
  std::filesystem::path workspace;
  std::vector<verifiers::VerifierSpec> verifiers;
  AgentLimits limits;
  Provider provider = Provider::kOpenAiChat;
  std::string model;
  // Gateway endpoint: the agent's only way to the model.
  std::string gateway_socket;
  // Where the repo map caches parse results by content hash, shared by the attempts and jobs
  // of one mirror; empty: no cache. Entries are only hints, checked before use.
  std::filesystem::path parse_cache_dir;
  // Report from the previous attempt's final check, empty on the first attempt.
  std::string previous_attempt_feedback;
  int attempt = 1;
  // kNoNewFailures when the repository was red before the change: then `baseline` is the
  // untouched tree's report and finish is allowed once no failure is new.
  verifiers::JudgeMode judge_mode = verifiers::JudgeMode::kAllGreen;
  std::optional<verifiers::VerifierReport> baseline;
};

enum class AgentStatus {
  kFinished,       // The agent called finish with verifiers passing.
  kNotApplicable,  // The agent declared the migration does not apply here, with a reason.
  kFailed,         // Limits, repeated malformed replies, model errors.
};

std::string_view AgentStatusName(AgentStatus status);  // "finished", "not_applicable", "failed"

// What ended a failed attempt, set where it ended; result.json's "failure_kind".
enum class AgentFailure {
  kLimit,             // "limit": the attempt's turn, token or wall-clock limit.
  kStuck,             // "stuck": the same tool call, repeated until the agent gave up.
  kEditErrors,        // "edit_errors": a limit or stuck, while most tool calls had failed.
  kChecksFailed,      // "checks_failed": finish refused by the checks until the error limit.
  kMalformedReplies,  // "malformed_replies": unusable model replies, too many in a row.
  kModelError,        // "model_error": the model or the gateway answered with an error.
  kBudgetExhausted,   // "budget_exhausted": the gateway refused for the job's or run's budget.
  kStart,             // "start": the attempt could not begin (its workspace, its prompts).
};
inline constexpr AgentFailure kAgentFailures[] = {AgentFailure::kLimit,
                                                  AgentFailure::kStuck,
                                                  AgentFailure::kEditErrors,
                                                  AgentFailure::kChecksFailed,
                                                  AgentFailure::kMalformedReplies,
                                                  AgentFailure::kModelError,
                                                  AgentFailure::kBudgetExhausted,
                                                  AgentFailure::kStart};
std::string_view AgentFailureName(AgentFailure failure);

struct AgentOutcome {
  AgentStatus status = AgentStatus::kFailed;
  std::string reason;   // Why it failed / why not applicable; empty when finished.
  // Set exactly when status is kFailed. A result.json without it (written before the field
  // existed) reads as budget_exhausted or model_error from `model_error`, else as kLimit.
  std::optional<AgentFailure> failure;
  // Set when a model or gateway error ended the attempt (ErrorCodeName: "unavailable",
  // "budget_exhausted", "protocol", ...): a new attempt would meet the same error.
  std::string model_error;
  std::string summary;  // The agent's own summary for the PR body.
  int turns = 0;
  Usage usage;
  int tool_calls = 0;
  int tool_errors = 0;
  double wall_seconds = 0;
};

Json ToJson(const AgentTask& task);
Result<AgentTask> AgentTaskFromJson(const Json& json);  // kInvalidArgument names the field.
Json ToJson(const AgentOutcome& outcome);
Result<AgentOutcome> AgentOutcomeFromJson(const Json& json);

}  // namespace drover::agent
