#include "llm/codec_common.h"

#include <optional>
#include <utility>

#include "llm/sse.h"

namespace drover::agent::codec {

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string StringOr(const Json& object, const char* key, std::string fallback) {
  const Json* value = Member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : fallback;
}

int64_t IntOr(const Json& object, const char* key, int64_t fallback) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_number()) return fallback;
  if (value->is_number_float()) return static_cast<int64_t>(value->get<double>());
  return value->get<int64_t>();
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::unexpected<Error> ShapeError(std::string_view what, const std::string& where,
                                  std::string_view problem) {
  return Fail(ErrorCode::kProtocol,
              std::string(what) + ": " + where + ": " + std::string(problem));
}

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

std::string ArgumentsText(const Json& arguments) {
  return arguments.is_string() ? arguments.get<std::string>() : Dump(arguments);
}

bool StreamFlag(const Json& body) {
  const Json* stream = Member(body, "stream");
  return stream != nullptr && stream->is_boolean() && stream->get<bool>();
}

std::string StopForOpenAi(const ModelReply& reply) {
  const std::string& stop = reply.stop_reason;
  if (stop.empty()) return reply.tool_calls.empty() ? "stop" : "tool_calls";
  if (stop == "end_turn" || stop == "stop_sequence") return "stop";
  if (stop == "tool_use") return "tool_calls";
  if (stop == "max_tokens") return "length";
  return stop;
}

Error StreamErrorFromObject(Provider provider, const Json& data) {
  const Json* error = Member(data, "error");
  const Json& body = error != nullptr && error->is_object() ? *error : data;
  std::string kind = StringOr(body, "code", StringOr(body, "type"));
  std::string message = StringOr(body, "message", Dump(data));
  ErrorCode code = ErrorCode::kProtocol;
  if (kind == "overloaded_error" || kind == "api_error" || kind == "server_error" ||
      kind == "internal_error" || kind == "service_unavailable") {
    code = ErrorCode::kUnavailable;
  } else if (kind == "rate_limit_error" || kind == "rate_limit_exceeded" ||
             kind == "rate_limit") {
    code = ErrorCode::kRateLimited;
  }
  return Error{code,
               std::string(ProviderName(provider)) + " stream: " +
                   (kind.empty() ? "error" : kind) + ": " + message,
               std::nullopt};
}

std::string SseEventText(const char* name, const Json& data) {
  return FormatSseEvent(SseEvent{name, Dump(data)});
}

ModelReply WithStreamedCalls(ModelReply reply, std::map<int64_t, ToolCall>& calls) {
  for (auto& [index, call] : calls) reply.tool_calls.push_back(std::move(call));
  return reply;
}

}  // namespace drover::agent::codec
