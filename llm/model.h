// Provider-neutral model conversation types and the ModelClient interface the agent loop
// talks to. Protocol codecs (protocol.h) map these onto OpenAI Chat Completions, the OpenAI
// Responses API and Anthropic Messages. Value types; ModelClient implementations are used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json.h"

namespace drover::agent {

struct ToolCall {
  std::string id;         // Provider-assigned id; echoed back with the result.
  std::string name;
  std::string arguments;  // Raw JSON text exactly as the model produced it (may be invalid).
};

enum class Role { kSystem, kUser, kAssistant, kTool };

struct Message {
  Role role = Role::kUser;
  std::string text;                 // For kTool: the tool's result text.
  std::vector<ToolCall> tool_calls;  // Only for kAssistant.
  std::string tool_call_id;          // Only for kTool.
  bool is_error = false;             // Only for kTool: the result reports a failure.
  // The prompt prefix up to and including this message is meant to stay byte-stable across
  // turns: providers with explicit caching (Anthropic cache_control) mark a breakpoint here.
  bool cache_breakpoint = false;
};

struct ToolSchema {
  std::string name;
  std::string description;
  Json parameters;  // JSON Schema object for the arguments.
};

struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
};

struct ModelRequest {
  std::string model;
  std::vector<Message> messages;  // messages[0] may be kSystem.
  std::vector<ToolSchema> tools;
  int max_output_tokens = 4096;
  // Ask for the reply as server-sent events (protocol "stream": true).
  bool stream = false;
};

struct ModelReply {
  std::string text;
  std::vector<ToolCall> tool_calls;
  Usage usage;
  std::string stop_reason;  // Provider's own word ("tool_calls", "end_turn", ...).
};

class ModelClient {
 public:
  virtual ~ModelClient() = default;
  // One model call. Errors: kUnavailable/kTimeout (transport), kRateLimited, kBudgetExhausted
  // (the gateway refused: job token budget spent), kProtocol (4xx or a reply that is not the
  // provider's shape), kParse (body is not JSON).
  virtual Result<ModelReply> Complete(const ModelRequest& request) = 0;
};

// Each has one row in the provider traits table (provider.h), in this order.
enum class Provider { kOpenAiChat, kOpenAiResponses, kAnthropic };

// "openai" (Chat Completions) / "openai-responses" / "anthropic": the table's names.
std::string_view ProviderName(Provider provider);
// Parses a ProviderName; kInvalidArgument otherwise.
Result<Provider> ParseProvider(std::string_view name);

}  // namespace drover::agent
