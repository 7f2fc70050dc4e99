#include "llm/openai_chat.h"

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "llm/codec_common.h"
#include "llm/protocol.h"
#include "llm/sse.h"

namespace drover::agent {
namespace {

using codec::ContentText;
using codec::Dump;
using codec::IntOr;
using codec::Member;
using codec::ShapeError;
using codec::StringOr;

Json ToolCallsJson(const std::vector<ToolCall>& calls) {
  Json out = Json::array();
  for (const auto& call : calls) {
    out.push_back({{"id", call.id},
                   {"type", "function"},
                   {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  }
  return out;
}

Json EncodeRequest(const ModelRequest& request) {
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
        if (!message.tool_calls.empty()) out["tool_calls"] = ToolCallsJson(message.tool_calls);
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

Result<std::vector<ToolCall>> DecodeToolCalls(const Json& calls, std::string_view what,
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
      call.arguments = codec::ArgumentsText(*arguments);
    }
    out.push_back(std::move(call));
  }
  return out;
}

Result<ModelRequest> DecodeRequest(const Json& body) {
  constexpr std::string_view kWhat = "openai request";
  ModelRequest request;
  if (const Json* model = Member(body, "model"); model != nullptr && model->is_string()) {
    request.model = model->get<std::string>();
  }
  request.max_output_tokens = static_cast<int>(
      IntOr(body, "max_tokens", IntOr(body, "max_completion_tokens", request.max_output_tokens)));
  request.stream = codec::StreamFlag(body);
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
        auto decoded = DecodeToolCalls(*calls, kWhat, at + ".tool_calls");
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
  if (auto tools = codec::DecodeTools(body, kWhat, "function", "parameters", request.tools);
      !tools) {
    return std::unexpected(tools.error());
  }
  return request;
}

// A "usage" object: prompt_tokens already counts the cached ones.
Usage ReadUsage(const Json& usage) {
  Usage out;
  out.input_tokens = IntOr(usage, "prompt_tokens", 0);
  out.output_tokens = IntOr(usage, "completion_tokens", 0);
  if (const Json* details = Member(usage, "prompt_tokens_details"); details != nullptr) {
    out.cached_input_tokens = IntOr(*details, "cached_tokens", 0);
  }
  return out;
}

Json EncodeResponse(const std::string& model, const ModelReply& reply) {
  Json message = {{"role", "assistant"}};
  message["content"] = reply.text.empty() && !reply.tool_calls.empty() ? Json(nullptr)
                                                                        : Json(reply.text);
  if (!reply.tool_calls.empty()) message["tool_calls"] = ToolCallsJson(reply.tool_calls);
  return {{"id", "chatcmpl-drover"},
          {"object", "chat.completion"},
          {"created", 0},
          {"model", model},
          {"choices",
           Json::array({{{"index", 0},
                         {"message", std::move(message)},
                         {"finish_reason", codec::StopForOpenAi(reply)}}})},
          {"usage",
           {{"prompt_tokens", reply.usage.input_tokens},
            {"completion_tokens", reply.usage.output_tokens},
            {"total_tokens", reply.usage.input_tokens + reply.usage.output_tokens},
            {"prompt_tokens_details", {{"cached_tokens", reply.usage.cached_input_tokens}}}}}};
}

Result<ModelReply> DecodeResponse(const Json& body) {
  constexpr std::string_view kWhat = "openai reply";
  if (const Json* error = Member(body, "error"); error != nullptr) {
    return Fail(ErrorCode::kProtocol,
                std::string(kWhat) + ": error: " + ErrorMessageFromBody(Dump(body)));
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
    auto decoded = DecodeToolCalls(*calls, kWhat, "choices[0].message.tool_calls");
    if (!decoded) return Fail(decoded.error());
    reply.tool_calls = *std::move(decoded);
  }
  if (const Json* finish = Member(choice, "finish_reason"); finish != nullptr && finish->is_string()) {
    reply.stop_reason = finish->get<std::string>();
  }
  if (const Json* usage = Member(body, "usage"); usage != nullptr) reply.usage = ReadUsage(*usage);
  return reply;
}

// ---- stream ----

std::string EncodeStream(const std::string& model, const ModelReply& reply) {
  const Json full = EncodeResponse(model, reply);
  const Json& message = full["choices"][0]["message"];
  auto chunk = [&](Json delta, Json finish) {
    Json data = {{"id", full["id"]},
                 {"object", "chat.completion.chunk"},
                 {"created", 0},
                 {"model", model},
                 {"choices", Json::array({{{"index", 0},
                                           {"delta", std::move(delta)},
                                           {"finish_reason", std::move(finish)}}})}};
    return codec::SseEventText("", data);
  };
  std::string out = chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
  if (!reply.text.empty()) out += chunk({{"content", reply.text}}, nullptr);
  if (const Json* calls = Member(message, "tool_calls"); calls != nullptr) {
    for (size_t i = 0; i < calls->size(); ++i) {
      Json call = (*calls)[i];
      call["index"] = i;
      out += chunk({{"tool_calls", Json::array({std::move(call)})}}, nullptr);
    }
  }
  out += chunk(Json::object(), full["choices"][0]["finish_reason"]);
  Json usage = {{"id", full["id"]},
                {"object", "chat.completion.chunk"},
                {"created", 0},
                {"model", model},
                {"choices", Json::array()},
                {"usage", full["usage"]}};
  out += codec::SseEventText("", usage);
  out += FormatSseEvent(SseEvent{"", "[DONE]"});
  return out;
}

// Chunks carry deltas of the one choice; the stream ends with the non-JSON "[DONE]", which
// StreamDecoder takes from the codec's done_data, so Done() here stays false.
class StreamEvents : public ProtocolStreamDecoder {
 public:
  explicit StreamEvents(Provider provider) : provider_(provider) {}

  Status Event(const std::string& /*type*/, const Json& data) override {
    if (Member(data, "error") != nullptr) return Fail(codec::StreamErrorFromObject(provider_, data));
    if (const Json* usage = Member(data, "usage"); usage != nullptr) {
      reply_.usage = ReadUsage(*usage);
    }
    const Json* choices = Member(data, "choices");
    if (choices == nullptr || !choices->is_array() || choices->empty()) return {};
    const Json& choice = (*choices)[0];
    if (const Json* finish = Member(choice, "finish_reason"); finish != nullptr) {
      reply_.stop_reason = finish->get<std::string>();
    }
    const Json* delta = Member(choice, "delta");
    if (delta == nullptr) return {};
    if (const Json* content = Member(*delta, "content"); content != nullptr) {
      reply_.text += content->get<std::string>();
    }
    if (const Json* calls = Member(*delta, "tool_calls"); calls != nullptr) {
      for (const auto& part : *calls) {
        ToolCall& call = calls_[IntOr(part, "index", 0)];
        if (std::string id = StringOr(part, "id"); !id.empty()) call.id = id;
        if (const Json* function = Member(part, "function"); function != nullptr) {
          call.name += StringOr(*function, "name");
          call.arguments += StringOr(*function, "arguments");
        }
      }
    }
    return {};
  }

  bool Done() const override { return false; }

  ModelReply Finish() override { return codec::WithStreamedCalls(reply_, calls_); }

 private:
  Provider provider_;
  ModelReply reply_;
  std::map<int64_t, ToolCall> calls_;  // By the call's index.
};

std::unique_ptr<ProtocolStreamDecoder> NewStreamDecoder(Provider provider) {
  return std::make_unique<StreamEvents>(provider);
}

}  // namespace

const ProtocolCodec kOpenAiChatCodec = {
    .encode_request = EncodeRequest,
    .decode_request = DecodeRequest,
    .encode_response = EncodeResponse,
    .decode_response = DecodeResponse,
    .encode_stream = EncodeStream,
    .new_stream_decoder = NewStreamDecoder,
    .done_data = "[DONE]",
};

}  // namespace drover::agent
