#include "llm/anthropic_messages.h"

#include <algorithm>
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

Json ToolUse(const ToolCall& call) {
  return {{"type", "tool_use"}, {"id", call.id}, {"name", call.name},
          {"input", ToolInput(call.arguments)}};
}

// Anthropic caches the prefix up to a block carrying cache_control, and takes at most four.
constexpr size_t kMaxBreakpoints = 4;

Json Ephemeral() { return {{"type", "ephemeral"}}; }

Json EncodeRequest(const ModelRequest& request) {
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
        for (const auto& call : message.tool_calls) blocks.push_back(ToolUse(call));
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
  size_t budget = kMaxBreakpoints;
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
      call.arguments = Dump(input != nullptr ? *input : Json::object());
      calls.push_back(std::move(call));
    }
  }
  return {};
}

Result<ModelRequest> DecodeRequest(const Json& body) {
  constexpr std::string_view kWhat = "anthropic request";
  ModelRequest request;
  if (const Json* model = Member(body, "model"); model != nullptr && model->is_string()) {
    request.model = model->get<std::string>();
  }
  request.max_output_tokens =
      static_cast<int>(IntOr(body, "max_tokens", request.max_output_tokens));
  request.stream = codec::StreamFlag(body);
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
  if (auto tools = codec::DecodeTools(body, kWhat, "", "input_schema", request.tools); !tools) {
    return std::unexpected(tools.error());
  }
  return request;
}

Json EncodeResponse(const std::string& model, const ModelReply& reply) {
  Json content = Json::array();
  if (!reply.text.empty()) content.push_back({{"type", "text"}, {"text", reply.text}});
  for (const auto& call : reply.tool_calls) content.push_back(ToolUse(call));
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

// A "usage" object: input_tokens counts only the uncached part, so cache reads and writes are
// added back; cache reads are the cached part.
Usage ReadUsage(const Json& usage) {
  Usage out;
  const int64_t cache_read = IntOr(usage, "cache_read_input_tokens", 0);
  out.input_tokens = IntOr(usage, "input_tokens", 0) + cache_read +
                     IntOr(usage, "cache_creation_input_tokens", 0);
  out.output_tokens = IntOr(usage, "output_tokens", 0);
  out.cached_input_tokens = cache_read;
  return out;
}

Result<ModelReply> DecodeResponse(const Json& body) {
  constexpr std::string_view kWhat = "anthropic reply";
  if (const Json* type = Member(body, "type"); type != nullptr && *type == "error") {
    return Fail(ErrorCode::kProtocol, std::string(kWhat) + ": error: " +
                                          ErrorMessageFromBody(Dump(body)));
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
  if (const Json* usage = Member(body, "usage"); usage != nullptr) reply.usage = ReadUsage(*usage);
  return reply;
}

// ---- stream ----

std::string EncodeStream(const std::string& model, const ModelReply& reply) {
  const Json full = EncodeResponse(model, reply);
  Json start = full;
  start["content"] = Json::array();
  start["stop_reason"] = nullptr;
  start["usage"]["output_tokens"] = 0;
  std::string out =
      codec::SseEventText("message_start", {{"type", "message_start"}, {"message", start}});
  const Json& content = full["content"];
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    Json empty = block;
    Json delta;
    if (block["type"] == "tool_use") {
      empty["input"] = Json::object();
      delta = {{"type", "input_json_delta"}, {"partial_json", Dump(block["input"])}};
    } else {
      empty["text"] = "";
      delta = {{"type", "text_delta"}, {"text", block["text"]}};
    }
    out += codec::SseEventText(
        "content_block_start",
        {{"type", "content_block_start"}, {"index", i}, {"content_block", empty}});
    out += codec::SseEventText("content_block_delta",
                               {{"type", "content_block_delta"}, {"index", i}, {"delta", delta}});
    out += codec::SseEventText("content_block_stop", {{"type", "content_block_stop"}, {"index", i}});
  }
  out += codec::SseEventText(
      "message_delta",
      {{"type", "message_delta"},
       {"delta", {{"stop_reason", full["stop_reason"]}, {"stop_sequence", nullptr}}},
       {"usage", {{"output_tokens", full["usage"]["output_tokens"]}}}});
  out += codec::SseEventText("message_stop", {{"type", "message_stop"}});
  return out;
}

// message_start carries the input usage, content blocks arrive as start/delta/stop by index,
// message_delta the stop reason and output usage, message_stop ends the stream.
class StreamEvents : public ProtocolStreamDecoder {
 public:
  explicit StreamEvents(Provider provider) : provider_(provider) {}

  Status Event(const std::string& type, const Json& data) override {
    if (type == "error") return Fail(codec::StreamErrorFromObject(provider_, data));
    if (type == "message_start") {
      reply_.usage = ReadUsage(data.at("message").at("usage"));
    } else if (type == "content_block_start") {
      const Json& block = data.at("content_block");
      const std::string block_type = StringOr(block, "type");
      if (block_type == "tool_use") {
        ToolCall& call = calls_[IntOr(data, "index", 0)];
        call.id = StringOr(block, "id");
        call.name = StringOr(block, "name");
      } else if (block_type == "text") {
        reply_.text += StringOr(block, "text");
      }
    } else if (type == "content_block_delta") {
      const Json& delta = data.at("delta");
      const std::string delta_type = StringOr(delta, "type");
      if (delta_type == "text_delta") {
        reply_.text += delta.at("text").get<std::string>();
      } else if (delta_type == "input_json_delta") {
        calls_[IntOr(data, "index", 0)].arguments += delta.at("partial_json").get<std::string>();
      }
    } else if (type == "message_delta") {
      if (const Json* delta = Member(data, "delta"); delta != nullptr) {
        reply_.stop_reason = StringOr(*delta, "stop_reason", reply_.stop_reason);
      }
      if (const Json* usage = Member(data, "usage"); usage != nullptr) {
        reply_.usage.output_tokens = IntOr(*usage, "output_tokens", reply_.usage.output_tokens);
      }
    } else if (type == "message_stop") {
      done_ = true;
    }
    return {};
  }

  bool Done() const override { return done_; }

  ModelReply Finish() override {
    // A tool without parameters streams no argument text; the assembled reply says {}.
    for (auto& [index, call] : calls_) {
      if (call.arguments.empty()) call.arguments = "{}";
    }
    return codec::WithStreamedCalls(reply_, calls_);
  }

 private:
  Provider provider_;
  ModelReply reply_;
  std::map<int64_t, ToolCall> calls_;  // By the content block's index.
  bool done_ = false;
};

std::unique_ptr<ProtocolStreamDecoder> NewStreamDecoder(Provider provider) {
  return std::make_unique<StreamEvents>(provider);
}

}  // namespace

const ProtocolCodec kAnthropicMessagesCodec = {
    .encode_request = EncodeRequest,
    .decode_request = DecodeRequest,
    .encode_response = EncodeResponse,
    .decode_response = DecodeResponse,
    .encode_stream = EncodeStream,
    .new_stream_decoder = NewStreamDecoder,
    .done_data = "",
};

}  // namespace drover::agent

