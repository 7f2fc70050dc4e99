#include "agent/agent.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "agent/messages.h"
#include "prompts/prompts.h"

namespace drover::agent {
namespace {

constexpr int kStuckWarnRepeats = 4;
constexpr int kStuckFailRepeats = 6;
constexpr int64_t kRepoMapWindowShare = 16;  // The repo map takes at most 1/16 of the window.

std::string FirstLine(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

// The same call with different spacing or key order is still the same call.
std::string CallKey(const ToolCall& call) {
  auto parsed = ParseJson(call.arguments, "arguments");
  return call.name + " " + (parsed ? parsed->dump() : call.arguments);
}

Json UsageJson(const Usage& usage) {
  return {{"input_tokens", usage.input_tokens},
          {"output_tokens", usage.output_tokens},
          {"cached_input_tokens", usage.cached_input_tokens}};
}

// What the messages may take: the window less the tool schemas and the reply.
int64_t ContextRoom(const AgentLimits& limits) {
  size_t schema_bytes = 0;
  for (const auto& schema : Tools::Schemas()) {
    schema_bytes +=
        schema.name.size() + schema.description.size() + schema.parameters.dump().size();
  }
  return limits.context_window_tokens - limits.max_output_tokens - EstimateTokens(schema_bytes);
}

}  // namespace

Agent::Agent(const AgentTask& task, ModelClient& model, sandbox::ProcessRunner& processes,
             Transcript& transcript, std::map<std::string, std::string> command_env,
             std::function<std::chrono::milliseconds()> capacity_wait)
    : task_(task),
      model_(model),
      transcript_(transcript),
      workspace_(task.workspace),
      tools_(task, workspace_, processes, std::move(command_env)),
      context_(ContextRoom(task.limits), task.limits.context_management),
      capacity_wait_(std::move(capacity_wait)) {}

AgentOutcome Agent::Run() {
  started_ = std::chrono::steady_clock::now();
  if (capacity_wait_) capacity_wait_at_start_ = capacity_wait_();
  Json verifier_names = Json::array();
  for (const auto& spec : task_.verifiers) verifier_names.push_back(spec.name);
  (void)transcript_.Write("task", {{"migration_id", task_.migration_id},
                                   {"title", task_.title},
                                   {"repository", task_.repository},
                                   {"attempt", task_.attempt},
                                   {"provider", ProviderName(task_.provider)},
                                   {"model", task_.model},
                                   {"verifiers", verifier_names},
                                   {"limits", ToJson(task_)["limits"]}});
  if (auto started = Start(); !started) EndFailed(AgentFailure::kStart, started.error().message);
  while (!done_) {
    if (auto limit = LimitReached()) {
      EndFailed(UnlessEditsFailed(AgentFailure::kLimit), *limit);
      break;
    }
    Step();
  }
  outcome_.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  (void)transcript_.Write("outcome", ToJson(outcome_));
  return outcome_;
}

Status Agent::Start() {
  if (auto root = workspace_.Resolve("", false); !root) {
    return Fail(WithContext(root.error(), "workspace"));
  }
  auto system = prompts::Render("agent_system.md", {});
  if (!system) return Fail(WithContext(system.error(), "prompt"));
  if (auto tools = Tools::LoadSchemas(); !tools) return Fail(WithContext(tools.error(), "prompt"));
  std::string checks;
  for (const auto& spec : task_.verifiers) {
    checks += (checks.empty() ? "- " : "\n- ") + spec.name + ": `" + spec.command + "`";
  }
  if (checks.empty()) checks = "(none configured)";
  std::string feedback;
  if (!task_.previous_attempt_feedback.empty()) {
    auto rendered = prompts::RenderEntry(kMessagesTemplate, "previous_attempt",
                                         {{"feedback", task_.previous_attempt_feedback}});
    if (!rendered) return Fail(WithContext(rendered.error(), "prompt"));
    feedback = std::move(*rendered);
  }
  auto user = prompts::Render("agent_task.md", {{"title", task_.title},
                                                {"instructions", task_.instructions},
                                                {"repository", task_.repository},
                                                {"verifiers", checks},
                                                {"repo_map", RepoMapSection()},
                                                {"feedback", feedback}});
  if (!user) return Fail(WithContext(user.error(), "prompt"));
  context_.Add(Message{Role::kSystem, std::move(*system), {}, "", false});
  context_.Add(Message{Role::kUser, std::move(*user), {}, "", false});
  return {};
}

std::string Agent::RepoMapSection() {
  if (task_.limits.repo_map_tokens <= 0) return "";
  auto map = tools_.Map();
  if (!map) {
    // The agent can still search; a missing map only costs turns.
    (void)transcript_.Write("error", {{"where", "repo_map"},
                                      {"code", ErrorCodeName(map.error().code)},
                                      {"message", map.error().message}});
    return "";
  }
  // The map stays with the task message for the whole attempt: a small window keeps most of
  // itself for the work.
  int64_t budget = std::min<int64_t>(task_.limits.repo_map_tokens,
                                     task_.limits.context_window_tokens / kRepoMapWindowShare);
  std::string text = (*map)->Render(
      SeedTerms(task_.title + "\n" + task_.instructions),
      static_cast<size_t>(std::max<int64_t>(budget, 0)));
  RepoMapStats stats = (*map)->stats();
  (void)transcript_.Write("repo_map", {{"files", stats.files},
                                       {"parsed", stats.parsed},
                                       {"cache_hits", stats.cache_hits},
                                       {"cache_rejected", stats.cache_rejected},
                                       {"bytes", text.size()}});
  if (text.empty()) return "";
  return ModelMessage("repo_map", {{"map", text}});
}

std::optional<std::string> Agent::LimitReached() {
  const AgentLimits& limits = task_.limits;
  int64_t tokens = outcome_.usage.input_tokens + outcome_.usage.output_tokens;
  auto elapsed =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count();
  int64_t waited = 0;
  if (elapsed >= limits.max_wall_seconds && capacity_wait_) {
    // Waiting for a build slot or the rate governor is the fleet's time, not this attempt's;
    // bounded, so that waiting alone cannot keep an attempt alive for ever.
    waited = std::clamp<int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(capacity_wait_() - capacity_wait_at_start_)
            .count(),
        0, limits.max_wall_seconds);
    elapsed -= waited;
  }
  std::string name;
  int64_t used = 0;
  int64_t max = 0;
  std::string reason;
  if (outcome_.turns >= limits.max_turns) {
    name = "turns";
    used = outcome_.turns;
    max = limits.max_turns;
    reason = "turn limit reached: " + std::to_string(used) + " model calls";
  } else if (tokens >= limits.max_tokens) {
    name = "tokens";
    used = tokens;
    max = limits.max_tokens;
    reason = "token limit reached: " + std::to_string(used) + " of " + std::to_string(max) +
             " tokens used";
  } else if (elapsed >= limits.max_wall_seconds) {
    name = "wall_seconds";
    used = elapsed;
    max = limits.max_wall_seconds;
    reason =
        "wall-clock limit reached: " + std::to_string(used) + "s of " + std::to_string(max) + "s";
    if (waited > 0) {
      reason += " (not counting " + std::to_string(waited) + "s waiting for capacity)";
    }
  } else {
    return std::nullopt;
  }
  (void)transcript_.Write("limit", {{"limit", name}, {"used", used}, {"max", max}});
  return reason;
}

void Agent::Step() {
  auto reply = Query();
  if (!reply) {
    EndFailed(reply.error().code == ErrorCode::kBudgetExhausted ? AgentFailure::kBudgetExhausted
                                                                : AgentFailure::kModelError,
              reply.error().message);
    return;
  }
  ++outcome_.turns;
  outcome_.usage.input_tokens += reply->usage.input_tokens;
  outcome_.usage.output_tokens += reply->usage.output_tokens;
  outcome_.usage.cached_input_tokens += reply->usage.cached_input_tokens;
  Message assistant{Role::kAssistant, reply->text, reply->tool_calls, "", false};
  for (size_t i = 0; i < assistant.tool_calls.size(); ++i) {
    if (assistant.tool_calls[i].id.empty()) {
      assistant.tool_calls[i].id =
          "call_" + std::to_string(outcome_.turns) + "_" + std::to_string(i + 1);
    }
  }
  Json calls = Json::array();
  for (const auto& call : assistant.tool_calls) {
    calls.push_back({{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
  }
  (void)transcript_.Write("model_reply", {{"turn", outcome_.turns},
                                          {"text", reply->text},
                                          {"tool_calls", calls},
                                          {"usage", UsageJson(reply->usage)},
                                          {"stop_reason", reply->stop_reason}});
  // Providers reject empty assistant messages; an empty reply leaves only the nudge below.
  if (!assistant.text.empty() || !assistant.tool_calls.empty()) context_.Add(assistant);

  bool usable = false;
  if (assistant.tool_calls.empty()) {
    last_error_ = "the reply called no tool";
    last_refused_checks_.clear();
    context_.Add(Message{Role::kUser, ModelMessage("no_tool_call"), {}, "", false});
  }
  for (const auto& call : assistant.tool_calls) {
    ToolResult result = Execute(call);
    if (done_) return;
    if (result.malformed) {
      last_error_ = FirstLine(result.text);
      last_refused_checks_ = result.refused_checks;
    } else {
      usable = true;
    }
    if (result.finished) {
      outcome_.summary = result.summary;
      if (result.not_applicable) {
        End(AgentStatus::kNotApplicable, result.reason);
      } else {
        End(AgentStatus::kFinished, "");
      }
      return;
    }
  }
  if (usable) {
    error_turns_ = 0;
    return;
  }
  ++error_turns_;
  if (error_turns_ >= task_.limits.max_consecutive_errors) {
    if (!last_refused_checks_.empty()) {
      // The model kept asking to finish: what stopped it is the checks, not its replies.
      EndFailed(AgentFailure::kChecksFailed, "the checks failed (finish refused; " +
                                                 std::to_string(error_turns_) +
                                                 " unusable calls in a row): " +
                                                 last_refused_checks_);
      return;
    }
    EndFailed(AgentFailure::kMalformedReplies,
              std::to_string(error_turns_) +
                  " malformed or refused model replies in a row: " + last_error_);
  }
}

Result<ModelReply> Agent::Query() {
  if (auto action = context_.Manage()) {
    (void)transcript_.Write("context", {{"action", ContextActionName(action->kind)},
                                        {"tokens_before", action->tokens_before},
                                        {"tokens_after", action->tokens_after},
                                        {"messages_before", action->messages_before},
                                        {"messages_after", action->messages_after},
                                        {"elided", action->elided}});
  }
  ModelRequest request;
  request.model = task_.model;
  request.messages = context_.Request();
  request.tools = Tools::Schemas();
  request.max_output_tokens = task_.limits.max_output_tokens;
  (void)transcript_.Write("model_request", {{"turn", outcome_.turns + 1},
                                            {"messages", request.messages.size()},
                                            {"tokens_estimate", EstimateTokens(request.messages)},
                                            {"tokens_so_far", outcome_.usage.input_tokens +
                                                                  outcome_.usage.output_tokens},
                                            {"usage_so_far", UsageJson(outcome_.usage)}});
  // No retries here: the gateway already retried transport errors, 429 and 5xx upstream,
  // and retrying on top of it would multiply the attempts against a failing provider.
  auto reply = model_.Complete(request);
  if (reply) return reply;
  const Error& error = reply.error();
  (void)transcript_.Write("error", {{"where", "model"},
                                    {"code", ErrorCodeName(error.code)},
                                    {"message", error.message}});
  outcome_.model_error = std::string(ErrorCodeName(error.code));
  if (error.code == ErrorCode::kBudgetExhausted) {
    std::string reason = error.message.find("budget exhausted") != std::string::npos ||
                                 error.message.find("at the gateway") != std::string::npos
                             ? error.message
                             : "token budget exhausted: " + error.message;
    return Fail(ErrorCode::kBudgetExhausted, std::move(reason));
  }
  if (IsRetryable(error)) return Fail(error.code, "model unreachable: " + error.ToString());
  return Fail(error.code, "model error: " + error.ToString());
}

ToolResult Agent::Execute(const ToolCall& call) {
  ++outcome_.tool_calls;
  (void)transcript_.Write("tool_call",
                          {{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
  ToolResult result = tools_.Execute(call);
  if (task_.limits.context_management) {
    result.text = TruncateToolOutput(result.text, task_.limits.max_tool_output_tokens);
  }

  std::string key = CallKey(call);
  repeats_ = key == last_call_ ? repeats_ + 1 : 1;
  last_call_ = std::move(key);
  if (repeats_ >= kStuckWarnRepeats && repeats_ < kStuckFailRepeats) {
    result.text += "\n[You made this same call " + std::to_string(repeats_) +
                   " times in a row; its result will not change. Try something different.]";
  }
  if (result.is_error) ++outcome_.tool_errors;
  if (result.report) (void)transcript_.Write("verifier_report", result.report->ToJson());
  (void)transcript_.Write("tool_result", {{"id", call.id},
                                          {"name", call.name},
                                          {"is_error", result.is_error},
                                          {"finished", result.finished},
                                          {"text", result.text}});
  context_.Add(Message{Role::kTool, result.text, {}, call.id, result.is_error});
  if (repeats_ >= kStuckFailRepeats) {
    EndFailed(UnlessEditsFailed(AgentFailure::kStuck),
              "stuck: the same " + call.name + " call " + std::to_string(repeats_) +
                  " times in a row");
  }
  return result;
}

void Agent::End(AgentStatus status, std::string reason) {
  if (done_) return;
  done_ = true;
  outcome_.status = status;
  outcome_.reason = std::move(reason);
}

void Agent::EndFailed(AgentFailure failure, std::string reason) {
  if (done_) return;
  End(AgentStatus::kFailed, std::move(reason));
  outcome_.failure = failure;
}

AgentFailure Agent::UnlessEditsFailed(AgentFailure failure) const {
  if (outcome_.tool_errors > 0 && outcome_.tool_errors * 2 >= outcome_.tool_calls) {
    return AgentFailure::kEditErrors;
  }
  return failure;
}

}  // namespace drover::agent
