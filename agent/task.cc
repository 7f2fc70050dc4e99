#include "agent/task.h"

#include <cstdint>
#include <limits>
#include <utility>

namespace drover::agent {
namespace {

constexpr int kFormatVersion = 1;

// Reads members of one JSON object; each error names the field as `where.key`.
class FieldReader {
 public:
  FieldReader(const Json& json, std::string where) : json_(json), where_(std::move(where)) {}

  Status String(const char* key, bool required, std::string& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return Missing(key, required, "string");
    if (!value->is_string()) return Mistyped(key, "a string");
    out = value->get<std::string>();
    return {};
  }

  template <typename Int>
  Status Integer(const char* key, bool required, Int& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return Missing(key, required, "integer");
    if (!value->is_number_integer()) return Mistyped(key, "an integer");
    int64_t number = value->get<int64_t>();
    if (number < std::numeric_limits<Int>::min() || number > std::numeric_limits<Int>::max()) {
      return Mistyped(key, "an integer in range");
    }
    out = static_cast<Int>(number);
    return {};
  }

  Status Boolean(const char* key, bool required, bool& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return Missing(key, required, "boolean");
    if (!value->is_boolean()) return Mistyped(key, "true or false");
    out = value->get<bool>();
    return {};
  }

  Status Number(const char* key, bool required, double& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return Missing(key, required, "number");
    if (!value->is_number()) return Mistyped(key, "a number");
    out = value->get<double>();
    return {};
  }

  // The member as an object/array, or nullptr when absent and optional.
  Result<const Json*> Member(const char* key, bool required, bool array) const {
    const Json* value = Find(key);
    if (value == nullptr) {
      if (!required) return nullptr;
      return Fail(
          ErrorCode::kInvalidArgument,
          "missing " + std::string(array ? "array" : "object") + " field '" + Name(key) + "'");
    }
    if (array ? !value->is_array() : !value->is_object()) {
      return Fail(Mistyped(key, array ? "an array" : "an object").error());
    }
    return value;
  }

  std::string Name(const char* key) const { return where_ + "." + key; }

 private:
  const Json* Find(const char* key) const {
    auto it = json_.find(key);
    return it == json_.end() || it->is_null() ? nullptr : &*it;
  }
  Status Missing(const char* key, bool required, const char* type) const {
    if (!required) return {};
    return Fail(ErrorCode::kInvalidArgument,
                "missing " + std::string(type) + " field '" + Name(key) + "'");
  }
  Status Mistyped(const char* key, const char* expected) const {
    return Fail(ErrorCode::kInvalidArgument,
                "field '" + Name(key) + "' must be " + std::string(expected));
  }

  const Json& json_;
  std::string where_;
};

Status CheckVersion(const Json& json, std::string_view what) {
  auto it = json.find("version");
  if (it == json.end()) return {};
  if (!it->is_number_integer() || it->get<int64_t>() != kFormatVersion) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(what) + ".version: unsupported format version " + it->dump() +
                    " (this drover reads version " + std::to_string(kFormatVersion) + ")");
  }
  return {};
}

Json LimitsToJson(const AgentLimits& limits) {
  return Json{{"max_turns", limits.max_turns},
              {"max_tokens", limits.max_tokens},
              {"max_wall_seconds", limits.max_wall_seconds},
              {"max_consecutive_errors", limits.max_consecutive_errors},
              {"command_timeout_seconds", limits.command_timeout_seconds},
              {"max_output_tokens", limits.max_output_tokens},
              {"repo_map_tokens", limits.repo_map_tokens},
              {"context_window_tokens", limits.context_window_tokens},
              {"max_tool_output_tokens", limits.max_tool_output_tokens},
              {"context_management", limits.context_management}};
}

Result<AgentLimits> LimitsFromJson(const Json& json) {
  AgentLimits limits;
  FieldReader in(json, "task.limits");
  for (auto read : {in.Integer("max_turns", false, limits.max_turns),
                    in.Integer("max_tokens", false, limits.max_tokens),
                    in.Integer("max_wall_seconds", false, limits.max_wall_seconds),
                    in.Integer("max_consecutive_errors", false, limits.max_consecutive_errors),
                    in.Integer("command_timeout_seconds", false, limits.command_timeout_seconds),
                    in.Integer("max_output_tokens", false, limits.max_output_tokens),
                    in.Integer("repo_map_tokens", false, limits.repo_map_tokens),
                    in.Integer("context_window_tokens", false, limits.context_window_tokens),
                    in.Integer("max_tool_output_tokens", false, limits.max_tool_output_tokens),
                    in.Boolean("context_management", false, limits.context_management)}) {
    if (!read) return Fail(read.error());
  }
  return limits;
}

}  // namespace

std::string_view AgentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kFinished: return "finished";
    case AgentStatus::kNotApplicable: return "not_applicable";
    case AgentStatus::kFailed: return "failed";
  }
  return "failed";
}

std::string_view AgentFailureName(AgentFailure failure) {
  switch (failure) {
    case AgentFailure::kLimit: return "limit";
    case AgentFailure::kStuck: return "stuck";
    case AgentFailure::kEditErrors: return "edit_errors";
    case AgentFailure::kChecksFailed: return "checks_failed";
    case AgentFailure::kMalformedReplies: return "malformed_replies";
    case AgentFailure::kModelError: return "model_error";
    case AgentFailure::kBudgetExhausted: return "budget_exhausted";
    case AgentFailure::kStart: return "start";
  }
  return "limit";
}

Json ToJson(const AgentTask& task) {
  Json verifier_list = Json::array();
  for (const auto& spec : task.verifiers) verifier_list.push_back(verifiers::ToJson(spec));
  return Json{{"version", kFormatVersion},
              {"migration_id", task.migration_id},
              {"title", task.title},
              {"instructions", task.instructions},
              {"repository", task.repository},
              {"workspace", task.workspace.string()},
              {"verifiers", std::move(verifier_list)},
              {"limits", LimitsToJson(task.limits)},
              {"provider", ProviderName(task.provider)},
              {"model", task.model},
              {"gateway_socket", task.gateway_socket},
              {"parse_cache_dir", task.parse_cache_dir.string()},
              {"previous_attempt_feedback", task.previous_attempt_feedback},
              {"attempt", task.attempt},
              {"judge_mode", verifiers::JudgeModeName(task.judge_mode)},
              {"baseline", task.baseline ? task.baseline->ToJson() : Json()}};
}

Result<AgentTask> AgentTaskFromJson(const Json& json) {
  if (!json.is_object()) return Fail(ErrorCode::kInvalidArgument, "task: expected a JSON object");
  if (auto ok = CheckVersion(json, "task"); !ok) return Fail(ok.error());
  AgentTask task;
  FieldReader in(json, "task");
  std::string workspace;
  std::string provider;
  std::string parse_cache_dir;
  for (auto read :
       {in.String("migration_id", true, task.migration_id), in.String("title", true, task.title),
        in.String("instructions", true, task.instructions),
        in.String("repository", true, task.repository), in.String("workspace", true, workspace),
        in.String("provider", true, provider), in.String("model", true, task.model),
        in.String("gateway_socket", false, task.gateway_socket),
        in.String("parse_cache_dir", false, parse_cache_dir),
        in.String("previous_attempt_feedback", false, task.previous_attempt_feedback),
        in.Integer("attempt", false, task.attempt)}) {
    if (!read) return Fail(read.error());
  }
  if (workspace.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "field 'task.workspace' must not be empty");
  }
  task.workspace = workspace;
  task.parse_cache_dir = parse_cache_dir;
  auto parsed_provider = ParseProvider(provider);
  if (!parsed_provider) return Fail(WithContext(parsed_provider.error(), "task.provider"));
  task.provider = *parsed_provider;

  auto verifier_list = in.Member("verifiers", true, /*array=*/true);
  if (!verifier_list) return Fail(verifier_list.error());
  for (size_t i = 0; i < (*verifier_list)->size(); ++i) {
    auto spec = verifiers::VerifierSpecFromJson((**verifier_list)[i]);
    if (!spec) {
      return Fail(WithContext(spec.error(), "task.verifiers[" + std::to_string(i) + "]"));
    }
    task.verifiers.push_back(std::move(*spec));
  }
  if (auto mode = json.find("judge_mode"); mode != json.end() && mode->is_string()) {
    if (*mode == "no_new_failures") {
      task.judge_mode = verifiers::JudgeMode::kNoNewFailures;
    } else if (*mode != "all_green") {
      return Fail(ErrorCode::kInvalidArgument,
                  "field 'task.judge_mode' must be all_green or no_new_failures");
    }
  }
  if (auto baseline = json.find("baseline"); baseline != json.end() && !baseline->is_null()) {
    auto report = verifiers::VerifierReportFromJson(*baseline);
    if (!report) return Fail(WithContext(report.error(), "task.baseline"));
    task.baseline = std::move(*report);
  }
  if (task.judge_mode == verifiers::JudgeMode::kNoNewFailures && !task.baseline) {
    return Fail(ErrorCode::kInvalidArgument, "task.judge_mode no_new_failures needs task.baseline");
  }
  auto limits = in.Member("limits", false, /*array=*/false);
  if (!limits) return Fail(limits.error());
  if (*limits != nullptr) {
    auto parsed = LimitsFromJson(**limits);
    if (!parsed) return Fail(parsed.error());
    task.limits = *parsed;
  }
  return task;
}

Json ToJson(const AgentOutcome& outcome) {
  Json json{{"version", kFormatVersion},
            {"status", AgentStatusName(outcome.status)},
            {"reason", outcome.reason},
            {"model_error", outcome.model_error},
            {"summary", outcome.summary},
            {"turns", outcome.turns},
            {"usage",
             {{"input_tokens", outcome.usage.input_tokens},
              {"output_tokens", outcome.usage.output_tokens},
              {"cached_input_tokens", outcome.usage.cached_input_tokens}}},
            {"tool_calls", outcome.tool_calls},
            {"tool_errors", outcome.tool_errors},
            {"wall_seconds", outcome.wall_seconds}};
  if (outcome.failure) json["failure_kind"] = AgentFailureName(*outcome.failure);
  return json;
}

Result<AgentOutcome> AgentOutcomeFromJson(const Json& json) {
  if (!json.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "outcome: expected a JSON object");
  }
  if (auto ok = CheckVersion(json, "outcome"); !ok) return Fail(ok.error());
  AgentOutcome outcome;
  FieldReader in(json, "outcome");
  std::string status;
  std::string failure;
  for (auto read :
       {in.String("status", true, status), in.String("reason", false, outcome.reason),
        in.String("failure_kind", false, failure),
        in.String("model_error", false, outcome.model_error),
        in.String("summary", false, outcome.summary), in.Integer("turns", false, outcome.turns),
        in.Integer("tool_calls", false, outcome.tool_calls),
        in.Integer("tool_errors", false, outcome.tool_errors),
        in.Number("wall_seconds", false, outcome.wall_seconds)}) {
    if (!read) return Fail(read.error());
  }
  if (status == "finished") {
    outcome.status = AgentStatus::kFinished;
  } else if (status == "not_applicable") {
    outcome.status = AgentStatus::kNotApplicable;
  } else if (status == "failed") {
    outcome.status = AgentStatus::kFailed;
  } else {
    return Fail(
        ErrorCode::kInvalidArgument,
        "field 'outcome.status' must be finished, not_applicable or failed, not '" + status + "'");
  }
  if (outcome.status == AgentStatus::kFailed) {
    if (failure.empty()) {
      // Written before the field: the error code is all that says what ended the attempt.
      outcome.failure = outcome.model_error == ErrorCodeName(ErrorCode::kBudgetExhausted)
                            ? AgentFailure::kBudgetExhausted
                        : !outcome.model_error.empty() ? AgentFailure::kModelError
                                                       : AgentFailure::kLimit;
    } else {
      for (AgentFailure known : kAgentFailures) {
        if (AgentFailureName(known) == failure) outcome.failure = known;
      }
      if (!outcome.failure) {
        return Fail(ErrorCode::kInvalidArgument,
                    "field 'outcome.failure_kind' is not a known failure: '" + failure + "'");
      }
    }
  }
  auto usage = in.Member("usage", false, /*array=*/false);
  if (!usage) return Fail(usage.error());
  if (*usage != nullptr) {
    FieldReader u(**usage, "outcome.usage");
    for (auto read : {u.Integer("input_tokens", false, outcome.usage.input_tokens),
                      u.Integer("output_tokens", false, outcome.usage.output_tokens),
                      u.Integer("cached_input_tokens", false, outcome.usage.cached_input_tokens)}) {
      if (!read) return Fail(read.error());
    }
  }
  return outcome;
}

}  // namespace drover::agent
