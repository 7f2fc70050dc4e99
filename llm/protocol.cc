#include "llm/protocol.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace drover::agent {
namespace {

constexpr size_t kMaxErrorBodyChars = 300;

// The member `key` of `object` when present and not null.
const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::unexpected<Error> ShapeError(std::string_view what, const std::string& where,
                                  std::string_view problem) {
  return Fail(ErrorCode::kProtocol,
              std::string(what) + ": " + where + ": " + std::string(problem));
}

// A request's `tools`, the same in every protocol but for where each entry keeps its schema:
// under `nested` (Chat Completions' "function") or in the entry itself (`nested` ""), with
// the JSON Schema under `schema_key`.
Status DecodeTools(const Json& body, std::string_view what, const char* nested,
                   const char* schema_key, std::vector<ToolSchema>& out) {
  const Json* tools = Member(body, "tools");
  if (tools == nullptr) return {};
  if (!tools->is_array()) return ShapeError(what, "tools", "expected an array");
  bool flat = *nested == '\0';
  std::string name_field = flat ? "name" : std::string(nested) + ".name";
  for (size_t i = 0; i < tools->size(); ++i) {
    std::string at = "tools[" + std::to_string(i) + "]";
    const Json* entry = flat ? &(*tools)[i] : Member((*tools)[i], nested);
    const Json* name = entry != nullptr ? Member(*entry, "name") : nullptr;
    if (name == nullptr || !name->is_string()) return ShapeError(what, at, "missing " + name_field);
    ToolSchema tool;
    tool.name = name->get<std::string>();
    if (const Json* d = Member(*entry, "description"); d != nullptr && d->is_string()) {
      tool.description = d->get<std::string>();
    }
    if (const Json* schema = Member(*entry, schema_key); schema != nullptr) {
      tool.parameters = *schema;
    }
    out.push_back(std::move(tool));
  }
  return {};
}

// Text of a content field: a string, null, or an array of blocks whose "text" parts are joined.
std::string ContentText(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const auto& part : content) {
    if (part.is_string()) {
      text += part.get<std::string>();
      continue;
    }
    const Json* type = Member(part, "type");
    const Json* part_text = Member(part, "text");
    if (part_text != nullptr && part_text->is_string() &&
        (type == nullptr || (type->is_string() && *type == "text"))) {
      text += part_text->get<std::string>();
    }
  }
  return text;
}

int64_t IntOr(const Json& object, const char* key, int64_t fallback) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_number()) return fallback;
  if (value->is_number_float()) return static_cast<int64_t>(value->get<double>());
  return value->get<int64_t>();
}

std::string StopForOpenAi(const ModelReply& reply) {
  const std::string& stop = reply.stop_reason;
  if (stop.empty()) return reply.tool_calls.empty() ? "stop" : "tool_calls";
  if (stop == "end_turn" || stop == "stop_sequence") return "stop";
  if (stop == "tool_use") return "tool_calls";
  if (stop == "max_tokens") return "length";
  return stop;
}

std::string StopForAnthropic(const ModelReply& reply) {
  const std::string& stop = reply.stop_reason;
  if (stop.empty()) return reply.tool_calls.empty() ? "end_turn" : "tool_use";
  if (stop == "stop") return "end_turn";
  if (stop == "tool_calls" || stop == "function_call") return "tool_use";
  if (stop == "length") return "max_tokens";
  return stop;
}

// Anthropic tool_use input must be an object; anything else is sent as {}.
Json ToolInput(const std::string& arguments) {
  if (arguments.empty()) return Json::object();
  auto parsed = ParseJson(arguments, "tool arguments");
  if (!parsed || !parsed->is_object()) return Json::object();
  return *std::move(parsed);
}

std::string DumpArguments(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool StreamFlag(const Json& body) {
  const Json* stream = Member(body, "stream");
  return stream != nullptr && stream->is_boolean() && stream->get<bool>();
}

// ---- OpenAI Chat Completions ----

Json OpenAiToolCalls(const std::vector<ToolCall>& calls) {
  Json out = Json::array();
  for (const auto& call : calls) {
    out.push_back({{"id", call.id},
                   {"type", "function"},
                   {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  }
  return out;
}

Json EncodeOpenAiRequest(const ModelRequest& request) {
  Json messages = Json::array();
  for (const auto& message : request.messages) {
    switch (message.role) {
      case Role::kSystem:
        messages.push_back({{"role", "system"}, {"content", message.text}});
        break;
      case Role::kUser:
        messages.push_back({{"role", "user"}, {"content", message.text}});
        break;
      case Role::kAssistant: {
        Json out = {{"role", "assistant"}};
        out["content"] = message.text.empty() && !message.tool_calls.empty()
                             ? Json(nullptr)
                             : Json(message.text);
        if (!message.tool_calls.empty()) out["tool_calls"] = OpenAiToolCalls(message.tool_calls);
        messages.push_back(std::move(out));
        break;
      }
      case Role::kTool:
        messages.push_back(
            {{"role", "tool"}, {"tool_call_id", message.tool_call_id}, {"content", message.text}});
        break;
    }
  }
  Json body = {{"model", request.model},
               {"messages", std::move(messages)},
               {"max_tokens", request.max_output_tokens}};
  if (request.stream) {
    body["stream"] = true;
    // Without it the stream carries no token counts.
    body["stream_options"] = {{"include_usage", true}};
  }
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& tool : request.tools) {
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", tool.name},
                         {"description", tool.description},
                         {"parameters", tool.parameters.is_null() ? Json::object()
                                                                  : tool.parameters}}}});
    }
    body["tools"] = std::move(tools);
  }
  return body;
}

Result<std::vector<ToolCall>> DecodeOpenAiToolCalls(const Json& calls, std::string_view what,
                                                    const std::string& where) {
  std::vector<ToolCall> out;
  if (!calls.is_array()) return ShapeError(what, where, "expected an array");
  for (size_t i = 0; i < calls.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    const Json* function = Member(calls[i], "function");
    if (function == nullptr || !function->is_object()) {
      return ShapeError(what, at, "missing function");
    }
    const Json* name = Member(*function, "name");
    if (name == nullptr || !name->is_string()) return ShapeError(what, at, "missing function.name");
    ToolCall call;
    call.name = name->get<std::string>();
    if (const Json* id = Member(calls[i], "id"); id != nullptr && id->is_string()) {
      call.id = id->get<std::string>();
    }
    if (const Json* arguments = Member(*function, "arguments"); arguments != nullptr) {
      // Some compatible servers send an object instead of the documented string.
      call.arguments = arguments->is_string() ? arguments->get<std::string>()
                                              : DumpArguments(*arguments);
    }
    out.push_back(std::move(call));
  }
  return out;
}

Result<ModelRequest> DecodeOpenAiRequest(const Json& body) {
  constexpr std::string_view kWhat = "openai request";
  ModelRequest request;
  if (const Json* model = Member(body, "model"); model != nullptr && model->is_string()) {
    request.model = model->get<std::string>();
  }
  request.max_output_tokens = static_cast<int>(
      IntOr(body, "max_tokens", IntOr(body, "max_completion_tokens", request.max_output_tokens)));
  request.stream = StreamFlag(body);
  const Json* messages = Member(body, "messages");
  if (messages == nullptr || !messages->is_array()) {
    return ShapeError(kWhat, "messages", "expected an array");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& in = (*messages)[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    const Json* role = Member(in, "role");
    if (role == nullptr || !role->is_string()) return ShapeError(kWhat, at, "missing role");
    Message message;
    const Json* content = Member(in, "content");
    message.text = content != nullptr ? ContentText(*content) : "";
    const std::string role_name = role->get<std::string>();
    if (role_name == "system" || role_name == "developer") {
      message.role = Role::kSystem;
    } else if (role_name == "user") {
      message.role = Role::kUser;
    } else if (role_name == "assistant") {
      message.role = Role::kAssistant;
      if (const Json* calls = Member(in, "tool_calls"); calls != nullptr) {
        auto decoded = DecodeOpenAiToolCalls(*calls, kWhat, at + ".tool_calls");
        if (!decoded) return Fail(decoded.error());
        message.tool_calls = *std::move(decoded);
      }
    } else if (role_name == "tool") {
      message.role = Role::kTool;
      const Json* id = Member(in, "tool_call_id");
      if (id == nullptr || !id->is_string()) return ShapeError(kWhat, at, "missing tool_call_id");
      message.tool_call_id = id->get<std::string>();
    } else {
      return ShapeError(kWhat, at, "unknown role '" + role_name + "'");
    }
    request.messages.push_back(std::move(message));
  }
  if (auto tools = DecodeTools(body, kWhat, "function", "parameters", request.tools); !tools) {
    return std::unexpected(tools.error());
  }
  return request;
}

Json EncodeOpenAiResponse(const std::string& model, const ModelReply& reply) {
  Json message = {{"role", "assistant"}};
  message["content"] = reply.text.empty() && !reply.tool_calls.empty() ? Json(nullptr)
                                                                        : Json(reply.text);
  if (!reply.tool_calls.empty()) message["tool_calls"] = OpenAiToolCalls(reply.tool_calls);
  return {{"id", "chatcmpl-drover"},
          {"object", "chat.completion"},
          {"created", 0},
          {"model", model},
          {"choices",
           Json::array({{{"index", 0},
                         {"message", std::move(message)},
                         {"finish_reason", StopForOpenAi(reply)}}})},
          {"usage",
           {{"prompt_tokens", reply.usage.input_tokens},
            {"completion_tokens", reply.usage.output_tokens},
            {"total_tokens", reply.usage.input_tokens + reply.usage.output_tokens},
            {"prompt_tokens_details", {{"cached_tokens", reply.usage.cached_input_tokens}}}}}};
}

Result<ModelReply> DecodeOpenAiResponse(const Json& body) {
  constexpr std::string_view kWhat = "openai reply";
  if (const Json* error = Member(body, "error"); error != nullptr) {
    return Fail(ErrorCode::kProtocol, std::string(kWhat) + ": error: " +
                                          ErrorMessageFromBody(DumpArguments(body)));
  }
  const Json* choices = Member(body, "choices");
  if (choices == nullptr || !choices->is_array() || choices->empty()) {
    return ShapeError(kWhat, "choices", "expected a non-empty array");
  }
  const Json& choice = (*choices)[0];
  const Json* message = Member(choice, "message");
  if (message == nullptr || !message->is_object()) {
    return ShapeError(kWhat, "choices[0].message", "expected an object");
  }
  ModelReply reply;
  if (const Json* content = Member(*message, "content"); content != nullptr) {
    reply.text = ContentText(*content);
  }
  if (const Json* calls = Member(*message, "tool_calls"); calls != nullptr) {
    auto decoded = DecodeOpenAiToolCalls(*calls, kWhat, "choices[0].message.tool_calls");
    if (!decoded) return Fail(decoded.error());
    reply.tool_calls = *std::move(decoded);
  }
  if (const Json* finish = Member(choice, "finish_reason"); finish != nullptr && finish->is_string()) {
    reply.stop_reason = finish->get<std::string>();
  }
  if (const Json* usage = Member(body, "usage"); usage != nullptr) {
    reply.usage.input_tokens = IntOr(*usage, "prompt_tokens", 0);
    reply.usage.output_tokens = IntOr(*usage, "completion_tokens", 0);
    if (const Json* details = Member(*usage, "prompt_tokens_details"); details != nullptr) {
      reply.usage.cached_input_tokens = IntOr(*details, "cached_tokens", 0);
    }
  }
  return reply;
}

// ---- Anthropic Messages ----

Json AnthropicToolUse(const ToolCall& call) {
  return {{"type", "tool_use"}, {"id", call.id}, {"name", call.name},
          {"input", ToolInput(call.arguments)}};
}

// Anthropic caches the prefix up to a block carrying cache_control, and takes at most four.
constexpr size_t kMaxAnthropicBreakpoints = 4;

Json Ephemeral() { return {{"type", "ephemeral"}}; }

Json EncodeAnthropicRequest(const ModelRequest& request) {
  std::string system;
  Json messages = Json::array();
  // (message, block) positions of the last block of each neutral message with a breakpoint.
  std::vector<std::pair<size_t, size_t>> breakpoints;
  // Appends blocks under `role`, merging into the previous message of the same role: the API
  // wants user and assistant turns to alternate.
  auto append = [&messages](const char* role, Json blocks) {
    if (blocks.empty()) return;
    if (!messages.empty() && messages.back()["role"] == role) {
      for (auto& block : blocks) messages.back()["content"].push_back(std::move(block));
      return;
    }
    messages.push_back({{"role", role}, {"content", std::move(blocks)}});
  };
  for (const auto& message : request.messages) {
    const size_t before = messages.size();
    const size_t blocks_before = before == 0 ? 0 : messages.back()["content"].size();
    switch (message.role) {
      case Role::kSystem:
        if (!system.empty()) system += "\n\n";
        system += message.text;
        break;
      case Role::kUser:
        if (!message.text.empty()) {
          append("user", Json::array({{{"type", "text"}, {"text", message.text}}}));
        }
        break;
      case Role::kAssistant: {
        Json blocks = Json::array();
        if (!message.text.empty()) blocks.push_back({{"type", "text"}, {"text", message.text}});
        for (const auto& call : message.tool_calls) blocks.push_back(AnthropicToolUse(call));
        append("assistant", std::move(blocks));
        break;
      }
      case Role::kTool:
        append("user", Json::array({{{"type", "tool_result"},
                                     {"tool_use_id", message.tool_call_id},
                                     {"content", message.text},
                                     {"is_error", message.is_error}}}));
        break;
    }
    const bool added = messages.size() > before ||
                       (before > 0 && messages.back()["content"].size() > blocks_before);
    if (message.cache_breakpoint && added) {
      breakpoints.emplace_back(messages.size() - 1, messages.back()["content"].size() - 1);
    }
  }
  const bool cache = !breakpoints.empty();
  size_t budget = kMaxAnthropicBreakpoints;
  Json body = {{"model", request.model}, {"max_tokens", request.max_output_tokens}};
  if (!system.empty()) {
    if (cache) {
      body["system"] = Json::array(
          {{{"type", "text"}, {"text", system}, {"cache_control", Ephemeral()}}});
      --budget;
    } else {
      body["system"] = system;
    }
  }
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& tool : request.tools) {
      tools.push_back({{"name", tool.name},
                       {"description", tool.description},
                       {"input_schema", tool.parameters.is_null()
                                            ? Json{{"type", "object"}}
                                            : tool.parameters}});
    }
    if (cache) {
      tools.back()["cache_control"] = Ephemeral();
      --budget;
    }
    body["tools"] = std::move(tools);
  }
  // The latest breakpoints cover the longest prefixes; older ones beyond the limit are dropped.
  const size_t skip = breakpoints.size() > budget ? breakpoints.size() - budget : 0;
  for (size_t i = skip; i < breakpoints.size(); ++i) {
    messages[breakpoints[i].first]["content"][breakpoints[i].second]["cache_control"] =
        Ephemeral();
  }
  if (request.stream) body["stream"] = true;
  body["messages"] = std::move(messages);
  return body;
}

bool HasCacheControl(const Json& block) { return Member(block, "cache_control") != nullptr; }

// Anthropic assistant content blocks (in a request's history or in a reply): text blocks
// join into `text`, tool_use blocks become calls; other blocks (thinking, images) carry
// nothing the neutral types hold. `at` prefixes the location in error messages.
Status ReadAssistantBlocks(const Json& content, std::string_view what, const std::string& at,
                           std::string& text, std::vector<ToolCall>& calls) {
  for (size_t b = 0; b < content.size(); ++b) {
    const Json& block = content[b];
    std::string block_at = at + "content[" + std::to_string(b) + "]";
    const Json* type = Member(block, "type");
    if (type == nullptr || !type->is_string()) return ShapeError(what, block_at, "missing type");
    if (*type == "text") {
      text += ContentText(Json::array({block}));
    } else if (*type == "tool_use") {
      const Json* name = Member(block, "name");
      if (name == nullptr || !name->is_string()) return ShapeError(what, block_at, "missing name");
      ToolCall call;
      call.name = name->get<std::string>();
      if (const Json* id = Member(block, "id"); id != nullptr && id->is_string()) {
        call.id = id->get<std::string>();
      }
      const Json* input = Member(block, "input");
      call.arguments = DumpArguments(input != nullptr ? *input : Json::object());
      calls.push_back(std::move(call));
    }
  }
  return {};
}

Result<ModelRequest> DecodeAnthropicRequest(const Json& body) {
  constexpr std::string_view kWhat = "anthropic request";
  ModelRequest request;
  if (const Json* model = Member(body, "model"); model != nullptr && model->is_string()) {
    request.model = model->get<std::string>();
  }
  request.max_output_tokens =
      static_cast<int>(IntOr(body, "max_tokens", request.max_output_tokens));
  request.stream = StreamFlag(body);
  if (const Json* system = Member(body, "system"); system != nullptr) {
    std::string text = ContentText(*system);
    if (!text.empty()) request.messages.push_back(Message{Role::kSystem, text, {}, "", false});
  }
  const Json* messages = Member(body, "messages");
  if (messages == nullptr || !messages->is_array()) {
    return ShapeError(kWhat, "messages", "expected an array");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& in = (*messages)[i];
    std::string at = "messages[" + std::to_string(i) + "]";
    const Json* role = Member(in, "role");
    if (role == nullptr || !role->is_string() || (*role != "user" && *role != "assistant")) {
      return ShapeError(kWhat, at + ".role", "expected \"user\" or \"assistant\"");
    }
    const bool assistant = *role == "assistant";
    const Json* content = Member(in, "content");
    if (content == nullptr || (!content->is_string() && !content->is_array())) {
      return ShapeError(kWhat, at + ".content", "expected a string or an array of blocks");
    }
    if (content->is_string()) {
      request.messages.push_back(Message{assistant ? Role::kAssistant : Role::kUser,
                                         content->get<std::string>(), {}, "", false});
      continue;
    }
    if (assistant) {
      Message message;
      message.role = Role::kAssistant;
      if (auto read = ReadAssistantBlocks(*content, kWhat, at + ".", message.text,
                                          message.tool_calls);
          !read) {
        return Fail(read.error());
      }
      message.cache_breakpoint = std::any_of(content->begin(), content->end(), HasCacheControl);
      request.messages.push_back(std::move(message));
      continue;
    }
    // A user turn: tool results become kTool messages, runs of text one kUser message.
    std::optional<Message> pending_text;
    auto flush = [&] {
      if (pending_text) request.messages.push_back(*std::move(pending_text));
      pending_text.reset();
    };
    for (size_t b = 0; b < content->size(); ++b) {
      const Json& block = (*content)[b];
      std::string block_at = at + ".content[" + std::to_string(b) + "]";
      const Json* type = Member(block, "type");
      if (type == nullptr || !type->is_string()) return ShapeError(kWhat, block_at, "missing type");
      if (*type == "text") {
        if (!pending_text) pending_text = Message{Role::kUser, "", {}, "", false};
        pending_text->text += ContentText(Json::array({block}));
        pending_text->cache_breakpoint |= HasCacheControl(block);
      } else if (*type == "tool_result") {
        flush();
        const Json* id = Member(block, "tool_use_id");
        if (id == nullptr || !id->is_string()) {
          return ShapeError(kWhat, block_at, "missing tool_use_id");
        }
        Message result;
        result.role = Role::kTool;
        result.tool_call_id = id->get<std::string>();
        if (const Json* result_content = Member(block, "content"); result_content != nullptr) {
          result.text = ContentText(*result_content);
        }
        if (const Json* is_error = Member(block, "is_error"); is_error != nullptr) {
          result.is_error = is_error->is_boolean() && is_error->get<bool>();
        }
        result.cache_breakpoint = HasCacheControl(block);
        request.messages.push_back(std::move(result));
      }
    }
    flush();
  }
  if (auto tools = DecodeTools(body, kWhat, "", "input_schema", request.tools); !tools) {
    return std::unexpected(tools.error());
  }
  return request;
}

Json EncodeAnthropicResponse(const std::string& model, const ModelReply& reply) {
  Json content = Json::array();
  if (!reply.text.empty()) content.push_back({{"type", "text"}, {"text", reply.text}});
  for (const auto& call : reply.tool_calls) content.push_back(AnthropicToolUse(call));
  int64_t uncached = reply.usage.input_tokens - reply.usage.cached_input_tokens;
  return {{"id", "msg_drover"},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model},
          {"content", std::move(content)},
          {"stop_reason", StopForAnthropic(reply)},
          {"stop_sequence", nullptr},
          {"usage",
           {{"input_tokens", uncached < 0 ? 0 : uncached},
            {"output_tokens", reply.usage.output_tokens},
            {"cache_read_input_tokens", reply.usage.cached_input_tokens}}}};
}

Result<ModelReply> DecodeAnthropicResponse(const Json& body) {
  constexpr std::string_view kWhat = "anthropic reply";
  if (const Json* type = Member(body, "type"); type != nullptr && *type == "error") {
    return Fail(ErrorCode::kProtocol, std::string(kWhat) + ": error: " +
                                          ErrorMessageFromBody(DumpArguments(body)));
  }
  const Json* content = Member(body, "content");
  if (content == nullptr || !content->is_array()) {
    return ShapeError(kWhat, "content", "expected an array of blocks");
  }
  ModelReply reply;
  if (auto read = ReadAssistantBlocks(*content, kWhat, "", reply.text, reply.tool_calls); !read) {
    return Fail(read.error());
  }
  if (const Json* stop = Member(body, "stop_reason"); stop != nullptr && stop->is_string()) {
    reply.stop_reason = stop->get<std::string>();
  }
  if (const Json* usage = Member(body, "usage"); usage != nullptr) {
    int64_t cache_read = IntOr(*usage, "cache_read_input_tokens", 0);
    reply.usage.input_tokens = IntOr(*usage, "input_tokens", 0) + cache_read +
                               IntOr(*usage, "cache_creation_input_tokens", 0);
    reply.usage.output_tokens = IntOr(*usage, "output_tokens", 0);
    reply.usage.cached_input_tokens = cache_read;
  }
  return reply;
}

// ---- OpenAI Responses ----

Json ResponsesFunctionCall(const ToolCall& call) {
  return {{"type", "function_call"},
          {"call_id", call.id},
          {"name", call.name},
          {"arguments", call.arguments}};
}

Json ResponsesMessage(const char* role, const char* part_type, const std::string& text) {
  return {{"type", "message"},
          {"role", role},
          {"content", Json::array({{{"type", part_type}, {"text", text}}})}};
}

Json EncodeResponsesRequest(const ModelRequest& request) {
  std::string instructions;
  Json input = Json::array();
  for (const auto& message : request.messages) {
    switch (message.role) {
      case Role::kSystem:
        if (!instructions.empty()) instructions += "\n\n";
        instructions += message.text;
        break;
      case Role::kUser:
        input.push_back(ResponsesMessage("user", "input_text", message.text));
        break;
      case Role::kAssistant:
        if (!message.text.empty()) {
          input.push_back(ResponsesMessage("assistant", "output_text", message.text));
        }
        for (const auto& call : message.tool_calls) input.push_back(ResponsesFunctionCall(call));
        break;
      case Role::kTool:
        input.push_back({{"type", "function_call_output"},
                         {"call_id", message.tool_call_id},
                         {"output", message.text}});
        break;
    }
  }
  // store=false: no server-side conversation state; the whole input goes every turn, which
  // keeps the prefix cacheable and the exchange replayable.
  Json body = {{"model", request.model},
               {"input", std::move(input)},
               {"max_output_tokens", request.max_output_tokens},
               {"store", false}};
  if (!instructions.empty()) body["instructions"] = instructions;
  if (request.stream) body["stream"] = true;
  if (!request.tools.empty()) {
    Json tools = Json::array();
    for (const auto& tool : request.tools) {
      tools.push_back({{"type", "function"},
                       {"name", tool.name},
                       {"description", tool.description},
                       {"parameters", tool.parameters.is_null() ? Json::object()
                                                                : tool.parameters}});
    }
    body["tools"] = std::move(tools);
  }
  return body;
}

Result<Role> ResponsesRole(const Json& item, std::string_view what, const std::string& at) {
  const Json* role = Member(item, "role");
  if (role == nullptr || !role->is_string()) return ShapeError(what, at, "missing role");
  if (*role == "system" || *role == "developer") return Role::kSystem;
  if (*role == "user") return Role::kUser;
  if (*role == "assistant") return Role::kAssistant;
  return ShapeError(what, at, "unknown role '" + role->get<std::string>() + "'");
}

// A function_call item (in a request's input or a reply's output) as a tool call.
Result<ToolCall> ResponsesToolCall(const Json& item, std::string_view what,
                                   const std::string& at) {
  const Json* name = Member(item, "name");
  if (name == nullptr || !name->is_string()) return ShapeError(what, at, "missing name");
  const Json* call_id = Member(item, "call_id");
  if (call_id == nullptr || !call_id->is_string()) return ShapeError(what, at, "missing call_id");
  ToolCall call;
  call.id = call_id->get<std::string>();
  call.name = name->get<std::string>();
  if (const Json* arguments = Member(item, "arguments"); arguments != nullptr) {
    call.arguments = arguments->is_string() ? arguments->get<std::string>()
                                            : DumpArguments(*arguments);
  }
  return call;
}

Result<ModelRequest> DecodeResponsesRequest(const Json& body) {
  constexpr std::string_view kWhat = "openai-responses request";
  ModelRequest request;
  if (const Json* model = Member(body, "model"); model != nullptr && model->is_string()) {
    request.model = model->get<std::string>();
  }
  request.max_output_tokens =
      static_cast<int>(IntOr(body, "max_output_tokens", request.max_output_tokens));
  request.stream = StreamFlag(body);
  if (const Json* instructions = Member(body, "instructions"); instructions != nullptr) {
    std::string text = ContentText(*instructions);
    if (!text.empty()) request.messages.push_back(Message{Role::kSystem, text, {}, "", false});
  }
  const Json* input = Member(body, "input");
  if (input != nullptr && input->is_string()) {
    request.messages.push_back(Message{Role::kUser, input->get<std::string>(), {}, "", false});
    input = nullptr;
  } else if (input == nullptr || !input->is_array()) {
    return ShapeError(kWhat, "input", "expected a string or an array of items");
  }
  for (size_t i = 0; input != nullptr && i < input->size(); ++i) {
    const Json& item = (*input)[i];
    std::string at = "input[" + std::to_string(i) + "]";
    const Json* type = Member(item, "type");
    // Items without a type are messages (the API's shorthand).
    std::string type_name = type != nullptr && type->is_string() ? type->get<std::string>()
                                                                  : "message";
    if (type_name == "message") {
      auto role = ResponsesRole(item, kWhat, at);
      if (!role) return Fail(role.error());
      // A string, or parts (input_text, output_text) whose texts join.
      std::string text;
      const Json* content = Member(item, "content");
      if (content != nullptr && content->is_string()) text = content->get<std::string>();
      for (size_t p = 0; content != nullptr && content->is_array() && p < content->size(); ++p) {
        const Json* part_text = Member((*content)[p], "text");
        if (part_text != nullptr && part_text->is_string()) text += part_text->get<std::string>();
      }
      request.messages.push_back(Message{*role, text, {}, "", false});
    } else if (type_name == "function_call") {
      auto call = ResponsesToolCall(item, kWhat, at);
      if (!call) return Fail(call.error());
      // Calls after an assistant message (or after other calls) belong to that turn.
      if (request.messages.empty() || request.messages.back().role != Role::kAssistant) {
        request.messages.push_back(Message{Role::kAssistant, "", {}, "", false});
      }
      request.messages.back().tool_calls.push_back(*std::move(call));
    } else if (type_name == "function_call_output") {
      const Json* call_id = Member(item, "call_id");
      if (call_id == nullptr || !call_id->is_string()) {
        return ShapeError(kWhat, at, "missing call_id");
      }
      Message result;
      result.role = Role::kTool;
      result.tool_call_id = call_id->get<std::string>();
      if (const Json* output = Member(item, "output"); output != nullptr) {
        result.text = ContentText(*output);
      }
      request.messages.push_back(std::move(result));
    }
    // Other items (reasoning, web search results) carry nothing the neutral types hold.
  }
  if (auto tools = DecodeTools(body, kWhat, "", "parameters", request.tools); !tools) {
    return std::unexpected(tools.error());
  }
  return request;
}

Json ResponsesUsage(const Usage& usage) {
  return {{"input_tokens", usage.input_tokens},
          {"input_tokens_details", {{"cached_tokens", usage.cached_input_tokens}}},
          {"output_tokens", usage.output_tokens},
          {"total_tokens", usage.input_tokens + usage.output_tokens}};
}

Json ResponsesOutput(const ModelReply& reply) {
  Json output = Json::array();
  if (!reply.text.empty()) {
    Json message = ResponsesMessage("assistant", "output_text", reply.text);
    message["id"] = "msg_drover";
    message["status"] = "completed";
    message["content"][0]["annotations"] = Json::array();
    output.push_back(std::move(message));
  }
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    Json call = ResponsesFunctionCall(reply.tool_calls[i]);
    call["id"] = "fc_drover_" + std::to_string(i);
    call["status"] = "completed";
    output.push_back(std::move(call));
  }
  return output;
}

Json EncodeResponsesResponse(const std::string& model, const ModelReply& reply) {
  // The Responses API has no stop word of its own; the Chat Completions words stand in.
  const bool truncated = StopForOpenAi(reply) == "length";
  Json body = {{"id", "resp_drover"},
               {"object", "response"},
               {"created_at", 0},
               {"model", model},
               {"status", truncated ? "incomplete" : "completed"},
               {"output", ResponsesOutput(reply)},
               {"usage", ResponsesUsage(reply.usage)}};
  if (truncated) body["incomplete_details"] = {{"reason", "max_output_tokens"}};
  return body;
}

// The reply of a finished Responses API response object (also the payload of a stream's
// response.completed event).
Result<ModelReply> ReplyFromResponseObject(const Json& body, std::string_view what) {
  if (const Json* error = Member(body, "error"); error != nullptr) {
    return Fail(ErrorCode::kProtocol,
                std::string(what) + ": error: " + ErrorMessageFromBody(DumpArguments(body)));
  }
  const Json* output = Member(body, "output");
  if (output == nullptr || !output->is_array()) {
    return ShapeError(what, "output", "expected an array of items");
  }
  ModelReply reply;
  for (size_t i = 0; i < output->size(); ++i) {
    const Json& item = (*output)[i];
    std::string at = "output[" + std::to_string(i) + "]";
    const Json* type = Member(item, "type");
    if (type == nullptr || !type->is_string()) return ShapeError(what, at, "missing type");
    if (*type == "message") {
      if (const Json* content = Member(item, "content"); content != nullptr && content->is_array()) {
        for (const auto& part : *content) {
          const Json* part_type = Member(part, "type");
          const Json* text = Member(part, "text");
          if (part_type != nullptr && *part_type == "output_text" && text != nullptr &&
              text->is_string()) {
            reply.text += text->get<std::string>();
          }
        }
      }
    } else if (*type == "function_call") {
      auto call = ResponsesToolCall(item, what, at);
      if (!call) return Fail(call.error());
      reply.tool_calls.push_back(*std::move(call));
    }
  }
  const Json* status = Member(body, "status");
  if (status != nullptr && *status == "incomplete") {
    reply.stop_reason = "length";
  } else {
    reply.stop_reason = reply.tool_calls.empty() ? "stop" : "tool_calls";
  }
  if (const Json* usage = Member(body, "usage"); usage != nullptr) {
    reply.usage.input_tokens = IntOr(*usage, "input_tokens", 0);
    reply.usage.output_tokens = IntOr(*usage, "output_tokens", 0);
    if (const Json* details = Member(*usage, "input_tokens_details"); details != nullptr) {
      reply.usage.cached_input_tokens = IntOr(*details, "cached_tokens", 0);
    }
  }
  return reply;
}

Result<ModelReply> DecodeResponsesResponse(const Json& body) {
  return ReplyFromResponseObject(body, "openai-responses reply");
}

}  // namespace

std::string_view RequestPath(Provider provider) {
  switch (provider) {
    case Provider::kOpenAiChat: return "/v1/chat/completions";
    case Provider::kOpenAiResponses: return "/v1/responses";
    case Provider::kAnthropic: return "/v1/messages";
  }
  return "/";
}

std::string DefaultBaseUrl(Provider provider) {
  switch (provider) {
    case Provider::kOpenAiChat:
    case Provider::kOpenAiResponses: return "https://api.openai.com/v1";
    case Provider::kAnthropic: return "https://api.anthropic.com";
  }
  return "";
}

std::string UpstreamUrl(Provider provider, std::string_view base_url) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  switch (provider) {
    case Provider::kOpenAiChat: return std::string(base_url) + "/chat/completions";
    case Provider::kOpenAiResponses: return std::string(base_url) + "/responses";
    case Provider::kAnthropic: return std::string(base_url) + "/v1/messages";
  }
  return std::string(base_url);
}

Json EncodeRequest(Provider provider, const ModelRequest& request) {
  switch (provider) {
    case Provider::kOpenAiChat: return EncodeOpenAiRequest(request);
    case Provider::kOpenAiResponses: return EncodeResponsesRequest(request);
    case Provider::kAnthropic: return EncodeAnthropicRequest(request);
  }
  return Json::object();
}

// Parses `body` as a JSON object and hands it to the provider's decoder. Decoders read fields
// with nlohmann accessors that throw on a wrong type: that becomes kProtocol naming `what`.
namespace {

template <typename T>
Result<T> DecodeBody(Provider provider, std::string_view body, std::string_view what,
                     Result<T> (*openai)(const Json&), Result<T> (*responses)(const Json&),
                     Result<T> (*anthropic)(const Json&)) {
  std::string name = std::string(ProviderName(provider)) + " " + std::string(what);
  auto json = ParseJson(body, name);
  if (!json) return Fail(json.error());
  if (!json->is_object()) return Fail(ErrorCode::kProtocol, name + ": expected a JSON object");
  try {
    switch (provider) {
      case Provider::kOpenAiChat: return openai(*json);
      case Provider::kOpenAiResponses: return responses(*json);
      case Provider::kAnthropic: return anthropic(*json);
    }
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kProtocol, name + ": " + e.what());
  }
  return Fail(ErrorCode::kInternal, "unknown provider");
}

}  // namespace

Result<ModelRequest> DecodeRequest(Provider provider, std::string_view body) {
  return DecodeBody<ModelRequest>(provider, body, "request", DecodeOpenAiRequest,
                                  DecodeResponsesRequest, DecodeAnthropicRequest);
}

Json EncodeResponse(Provider provider, const std::string& model, const ModelReply& reply) {
  switch (provider) {
    case Provider::kOpenAiChat: return EncodeOpenAiResponse(model, reply);
    case Provider::kOpenAiResponses: return EncodeResponsesResponse(model, reply);
    case Provider::kAnthropic: return EncodeAnthropicResponse(model, reply);
  }
  return Json::object();
}

Result<ModelReply> DecodeResponse(Provider provider, std::string_view body) {
  return DecodeBody<ModelReply>(provider, body, "reply", DecodeOpenAiResponse,
                                DecodeResponsesResponse, DecodeAnthropicResponse);
}

std::string ErrorMessageFromBody(std::string_view body) {
  auto json = ParseJson(body, "error body");
  if (json && json->is_object()) {
    const Json* error = Member(*json, "error");
    if (error != nullptr && error->is_string()) return error->get<std::string>();
    if (error != nullptr) {
      const Json* message = Member(*error, "message");
      if (message != nullptr && message->is_string()) return message->get<std::string>();
    }
    const Json* message = Member(*json, "message");
    if (message != nullptr && message->is_string()) return message->get<std::string>();
  }
  if (body.empty()) return "(empty body)";
  if (body.size() <= kMaxErrorBodyChars) return std::string(body);
  return std::string(body.substr(0, kMaxErrorBodyChars)) + "...";
}

}  // namespace drover::agent
