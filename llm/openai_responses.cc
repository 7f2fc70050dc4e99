#include "llm/openai_responses.h"

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "llm/codec_common.h"
#include "llm/protocol.h"

namespace drover::agent {
namespace {

using codec::ContentText;
using codec::Dump;
using codec::IntOr;
using codec::Member;
using codec::ShapeError;
using codec::StringOr;


Json FunctionCallItem(const ToolCall& call) {
  return {{"type", "function_call"},
          {"call_id", call.id},
          {"name", call.name},
          {"arguments", call.arguments}};
}

Json MessageItem(const char* role, const char* part_type, const std::string& text) {
  return {{"type", "message"},
          {"role", role},
          {"content", Json::array({{{"type", part_type}, {"text", text}}})}};
}

Json EncodeRequest(const ModelRequest& request) {
  std::string instructions;
  Json input = Json::array();
  for (const auto& message : request.messages) {
    switch (message.role) {
      case Role::kSystem:
        if (!instructions.empty()) instructions += "\n\n";
        instructions += message.text;
        break;
      case Role::kUser:
        input.push_back(MessageItem("user", "input_text", message.text));
        break;
      case Role::kAssistant:
        if (!message.text.empty()) {
          input.push_back(MessageItem("assistant", "output_text", message.text));
        }
        for (const auto& call : message.tool_calls) input.push_back(FunctionCallItem(call));
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

Result<Role> ItemRole(const Json& item, std::string_view what, const std::string& at) {
  const Json* role = Member(item, "role");
  if (role == nullptr || !role->is_string()) return ShapeError(what, at, "missing role");
  if (*role == "system" || *role == "developer") return Role::kSystem;
  if (*role == "user") return Role::kUser;
  if (*role == "assistant") return Role::kAssistant;
  return ShapeError(what, at, "unknown role '" + role->get<std::string>() + "'");
}

// A function_call item (in a request's input or a reply's output) as a tool call.
Result<ToolCall> ToolCallFromItem(const Json& item, std::string_view what,
                                  const std::string& at) {
  const Json* name = Member(item, "name");
  if (name == nullptr || !name->is_string()) return ShapeError(what, at, "missing name");
  const Json* call_id = Member(item, "call_id");
  if (call_id == nullptr || !call_id->is_string()) return ShapeError(what, at, "missing call_id");
  ToolCall call;
  call.id = call_id->get<std::string>();
  call.name = name->get<std::string>();
  if (const Json* arguments = Member(item, "arguments"); arguments != nullptr) {
    call.arguments = codec::ArgumentsText(*arguments);
  }
  return call;
}

Result<ModelRequest> DecodeRequest(const Json& body) {
  constexpr std::string_view kWhat = "openai-responses request";
  ModelRequest request;
  if (const Json* model = Member(body, "model"); model != nullptr && model->is_string()) {
    request.model = model->get<std::string>();
  }
  request.max_output_tokens =
      static_cast<int>(IntOr(body, "max_output_tokens", request.max_output_tokens));
  request.stream = codec::StreamFlag(body);
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
      auto role = ItemRole(item, kWhat, at);
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
      auto call = ToolCallFromItem(item, kWhat, at);
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
  if (auto tools = codec::DecodeTools(body, kWhat, "", "parameters", request.tools); !tools) {
    return std::unexpected(tools.error());
  }
  return request;
}

Json UsageJson(const Usage& usage) {
  return {{"input_tokens", usage.input_tokens},
          {"input_tokens_details", {{"cached_tokens", usage.cached_input_tokens}}},
          {"output_tokens", usage.output_tokens},
          {"total_tokens", usage.input_tokens + usage.output_tokens}};
}

Json OutputItems(const ModelReply& reply) {
  Json output = Json::array();
  if (!reply.text.empty()) {
    Json message = MessageItem("assistant", "output_text", reply.text);
    message["id"] = "msg_drover";
    message["status"] = "completed";
    message["content"][0]["annotations"] = Json::array();
    output.push_back(std::move(message));
  }
  for (size_t i = 0; i < reply.tool_calls.size(); ++i) {
    Json call = FunctionCallItem(reply.tool_calls[i]);
    call["id"] = "fc_drover_" + std::to_string(i);
    call["status"] = "completed";
    output.push_back(std::move(call));
  }
  return output;
}

Json EncodeResponse(const std::string& model, const ModelReply& reply) {
  // The Responses API has no stop word of its own; the Chat Completions words stand in.
  const bool truncated = codec::StopForOpenAi(reply) == "length";
  Json body = {{"id", "resp_drover"},
               {"object", "response"},
               {"created_at", 0},
               {"model", model},
               {"status", truncated ? "incomplete" : "completed"},
               {"output", OutputItems(reply)},
               {"usage", UsageJson(reply.usage)}};
  if (truncated) body["incomplete_details"] = {{"reason", "max_output_tokens"}};
  return body;
}

// A finished response object (also the payload of a stream's response.completed event).
Result<ModelReply> DecodeResponse(const Json& body) {
  constexpr std::string_view kWhat = "openai-responses reply";
  if (const Json* error = Member(body, "error"); error != nullptr) {
    return Fail(ErrorCode::kProtocol,
                std::string(kWhat) + ": error: " + ErrorMessageFromBody(Dump(body)));
  }
  const Json* output = Member(body, "output");
  if (output == nullptr || !output->is_array()) {
    return ShapeError(kWhat, "output", "expected an array of items");
  }
  ModelReply reply;
  for (size_t i = 0; i < output->size(); ++i) {
    const Json& item = (*output)[i];
    std::string at = "output[" + std::to_string(i) + "]";
    const Json* type = Member(item, "type");
    if (type == nullptr || !type->is_string()) return ShapeError(kWhat, at, "missing type");
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
      auto call = ToolCallFromItem(item, kWhat, at);
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

// ---- stream ----

std::string EncodeStream(const std::string& model, const ModelReply& reply) {
  const Json full = EncodeResponse(model, reply);
  int64_t sequence = 0;
  auto event = [&sequence](const char* type, Json data) {
    data["type"] = type;
    data["sequence_number"] = sequence++;
    return codec::SseEventText(type, data);
  };
  Json started = full;
  started["status"] = "in_progress";
  started["output"] = Json::array();
  started.erase("usage");
  started.erase("incomplete_details");
  std::string out = event("response.created", {{"response", started}});
  const Json& output = full["output"];
  for (size_t i = 0; i < output.size(); ++i) {
    const Json& item = output[i];
    Json empty = item;
    empty["status"] = "in_progress";
    if (item["type"] == "function_call") {
      empty["arguments"] = "";
      out += event("response.output_item.added", {{"output_index", i}, {"item", empty}});
      out += event("response.function_call_arguments.delta",
                   {{"item_id", item["id"]}, {"output_index", i}, {"delta", item["arguments"]}});
      out += event("response.function_call_arguments.done",
                   {{"item_id", item["id"]}, {"output_index", i}, {"arguments", item["arguments"]}});
    } else {
      empty["content"] = Json::array();
      out += event("response.output_item.added", {{"output_index", i}, {"item", empty}});
      out += event("response.output_text.delta", {{"item_id", item["id"]},
                                                  {"output_index", i},
                                                  {"content_index", 0},
                                                  {"delta", item["content"][0]["text"]}});
    }
    out += event("response.output_item.done", {{"output_index", i}, {"item", item}});
  }
  const char* final_type =
      full["status"] == "incomplete" ? "response.incomplete" : "response.completed";
  out += event(final_type, {{"response", full}});
  return out;
}

// Typed events: output items added, text and argument deltas by output index, and a final
// response object that normally repeats the whole output.
class StreamEvents : public ProtocolStreamDecoder {
 public:
  explicit StreamEvents(Provider provider) : provider_(provider) {}

  Status Event(const std::string& type, const Json& data) override {
    if (type == "error") return Fail(codec::StreamErrorFromObject(provider_, data));
    if (type == "response.failed") {
      const Json* response = Member(data, "response");
      return Fail(codec::StreamErrorFromObject(provider_, response != nullptr ? *response : data));
    }
    if (type == "response.output_item.added") {
      const Json& item = data.at("item");
      if (StringOr(item, "type") != "function_call") return {};
      ToolCall& call = calls_[IntOr(data, "output_index", 0)];
      call.id = StringOr(item, "call_id");
      call.name = StringOr(item, "name");
      call.arguments = StringOr(item, "arguments");
    } else if (type == "response.output_text.delta") {
      reply_.text += data.at("delta").get<std::string>();
    } else if (type == "response.function_call_arguments.delta") {
      calls_[IntOr(data, "output_index", 0)].arguments += data.at("delta").get<std::string>();
    } else if (type == "response.function_call_arguments.done") {
      calls_[IntOr(data, "output_index", 0)].arguments = data.at("arguments").get<std::string>();
    } else if (type == "response.completed" || type == "response.incomplete") {
      // Through the public decoder, so the payload is checked (and named) like a reply body.
      auto reply = agent::DecodeResponse(provider_, Dump(data.at("response")));
      if (!reply) return Fail(reply.error());
      done_ = true;
      // The final object repeats the whole output; an abridged one keeps the assembled parts.
      if (!reply->text.empty() || !reply->tool_calls.empty()) {
        completed_ = *std::move(reply);
      } else {
        reply_.usage = reply->usage;
        reply_.stop_reason = calls_.empty() ? reply->stop_reason : "tool_calls";
      }
    }
    return {};
  }

  bool Done() const override { return done_; }

  ModelReply Finish() override {
    if (completed_) return *completed_;
    return codec::WithStreamedCalls(reply_, calls_);
  }

 private:
  Provider provider_;
  ModelReply reply_;
  std::map<int64_t, ToolCall> calls_;  // By the item's output index.
  std::optional<ModelReply> completed_;  // The final response object's reply.
  bool done_ = false;
};

std::unique_ptr<ProtocolStreamDecoder> NewStreamDecoder(Provider provider) {
  return std::make_unique<StreamEvents>(provider);
}

}  // namespace

const ProtocolCodec kOpenAiResponsesCodec = {
    .encode_request = EncodeRequest,
    .decode_request = DecodeRequest,
    .encode_response = EncodeResponse,
    .decode_response = DecodeResponse,
    .encode_stream = EncodeStream,
    .new_stream_decoder = NewStreamDecoder,
    .done_data = "",
};

}  // namespace drover::agent

