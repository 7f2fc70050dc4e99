#include "llm/stream.h"

#include <utility>
#include <vector>

#include "llm/protocol.h"

namespace drover::agent {
namespace {

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string StringOr(const Json& object, const char* key, std::string fallback = "") {
  const Json* value = Member(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : fallback;
}

int64_t IntOr(const Json& object, const char* key, int64_t fallback) {
  const Json* value = Member(object, key);
  return value != nullptr && value->is_number_integer() ? value->get<int64_t>() : fallback;
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// An error a provider reports inside a stream, classified as the HTTP status it stands for.
Error StreamError(Provider provider, const std::string& kind, const std::string& message) {
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

// {"error": {"type"/"code", "message"}} or {"type": "error", "code", "message"}.
Error ErrorFromObject(Provider provider, const Json& data) {
  const Json* error = Member(data, "error");
  const Json& body = error != nullptr && error->is_object() ? *error : data;
  std::string kind = StringOr(body, "code", StringOr(body, "type"));
  return StreamError(provider, kind, StringOr(body, "message", Dump(data)));
}

// ---- encoders ----

std::string Event(const char* name, const Json& data) {
  return FormatSseEvent(SseEvent{name, Dump(data)});
}

std::string OpenAiChatStream(const std::string& model, const ModelReply& reply) {
  const Json full = EncodeResponse(Provider::kOpenAiChat, model, reply);
  const Json& message = full["choices"][0]["message"];
  auto chunk = [&](Json delta, Json finish) {
    Json data = {{"id", full["id"]},
                 {"object", "chat.completion.chunk"},
                 {"created", 0},
                 {"model", model},
                 {"choices", Json::array({{{"index", 0},
                                           {"delta", std::move(delta)},
                                           {"finish_reason", std::move(finish)}}})}};
    return FormatSseEvent(SseEvent{"", Dump(data)});
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
  out += FormatSseEvent(SseEvent{"", Dump(usage)});
  out += FormatSseEvent(SseEvent{"", "[DONE]"});
  return out;
}

std::string ResponsesStream(const std::string& model, const ModelReply& reply) {
  const Json full = EncodeResponse(Provider::kOpenAiResponses, model, reply);
  int64_t sequence = 0;
  auto event = [&sequence](const char* type, Json data) {
    data["type"] = type;
    data["sequence_number"] = sequence++;
    return Event(type, data);
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

std::string AnthropicStream(const std::string& model, const ModelReply& reply) {
  const Json full = EncodeResponse(Provider::kAnthropic, model, reply);
  Json start = full;
  start["content"] = Json::array();
  start["stop_reason"] = nullptr;
  start["usage"]["output_tokens"] = 0;
  std::string out = Event("message_start", {{"type", "message_start"}, {"message", start}});
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
    out += Event("content_block_start",
                 {{"type", "content_block_start"}, {"index", i}, {"content_block", empty}});
    out += Event("content_block_delta",
                 {{"type", "content_block_delta"}, {"index", i}, {"delta", delta}});
    out += Event("content_block_stop", {{"type", "content_block_stop"}, {"index", i}});
  }
  out += Event("message_delta",
               {{"type", "message_delta"},
                {"delta", {{"stop_reason", full["stop_reason"]}, {"stop_sequence", nullptr}}},
                {"usage", {{"output_tokens", full["usage"]["output_tokens"]}}}});
  out += Event("message_stop", {{"type", "message_stop"}});
  return out;
}

}  // namespace

StreamDecoder::StreamDecoder(Provider provider) : provider_(provider) {}

Status StreamDecoder::Feed(std::string_view bytes) {
  if (error_) return Fail(*error_);
  for (const SseEvent& event : parser_.Feed(bytes)) {
    if (auto handled = Event(event); !handled) {
      error_ = handled.error();
      return handled;
    }
  }
  return {};
}

Result<ModelReply> StreamDecoder::Finish() {
  if (error_) return Fail(*error_);
  for (const SseEvent& event : parser_.Finish()) {
    if (auto handled = Event(event); !handled) {
      error_ = handled.error();
      return Fail(*error_);
    }
  }
  if (!done_) {
    return Fail(ErrorCode::kUnavailable, std::string(ProviderName(provider_)) +
                                             " stream: ended before its final event");
  }
  if (completed_) return *completed_;
  ModelReply reply = reply_;
  for (auto& [index, call] : calls_) {
    // A tool without parameters streams no argument text; the assembled reply says {}.
    if (provider_ == Provider::kAnthropic && call.arguments.empty()) call.arguments = "{}";
    reply.tool_calls.push_back(std::move(call));
  }
  return reply;
}

Status StreamDecoder::Event(const SseEvent& event) {
  if (done_) return {};
  if (provider_ == Provider::kOpenAiChat && event.data == "[DONE]") {
    done_ = true;
    return {};
  }
  std::string what = std::string(ProviderName(provider_)) + " stream event" +
                     (event.event.empty() ? "" : " " + event.event);
  auto data = ParseJson(event.data, what);
  if (!data) return Fail(data.error());
  if (!data->is_object()) return Fail(ErrorCode::kProtocol, what + ": expected a JSON object");
  try {
    switch (provider_) {
      case Provider::kOpenAiChat: return OpenAiChatEvent(*data);
      case Provider::kOpenAiResponses:
        return ResponsesEvent(event.event.empty() ? StringOr(*data, "type") : event.event, *data);
      case Provider::kAnthropic:
        return AnthropicEvent(event.event.empty() ? StringOr(*data, "type") : event.event, *data);
    }
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kProtocol, what + ": " + e.what());
  }
  return {};
}

Status StreamDecoder::OpenAiChatEvent(const Json& data) {
  if (Member(data, "error") != nullptr) return Fail(ErrorFromObject(provider_, data));
  if (const Json* usage = Member(data, "usage"); usage != nullptr) {
    reply_.usage.input_tokens = IntOr(*usage, "prompt_tokens", 0);
    reply_.usage.output_tokens = IntOr(*usage, "completion_tokens", 0);
    if (const Json* details = Member(*usage, "prompt_tokens_details"); details != nullptr) {
      reply_.usage.cached_input_tokens = IntOr(*details, "cached_tokens", 0);
    }
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

Status StreamDecoder::ResponsesEvent(const std::string& type, const Json& data) {
  if (type == "error") return Fail(ErrorFromObject(provider_, data));
  if (type == "response.failed") {
    const Json* response = Member(data, "response");
    return Fail(ErrorFromObject(provider_, response != nullptr ? *response : data));
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
    auto reply = DecodeResponse(Provider::kOpenAiResponses, Dump(data.at("response")));
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

Status StreamDecoder::AnthropicEvent(const std::string& type, const Json& data) {
  if (type == "error") return Fail(ErrorFromObject(provider_, data));
  if (type == "message_start") {
    const Json& usage = data.at("message").at("usage");
    const int64_t cache_read = IntOr(usage, "cache_read_input_tokens", 0);
    reply_.usage.input_tokens = IntOr(usage, "input_tokens", 0) + cache_read +
                                IntOr(usage, "cache_creation_input_tokens", 0);
    reply_.usage.cached_input_tokens = cache_read;
    reply_.usage.output_tokens = IntOr(usage, "output_tokens", 0);
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

std::string EncodeStream(Provider provider, const std::string& model, const ModelReply& reply) {
  switch (provider) {
    case Provider::kOpenAiChat: return OpenAiChatStream(model, reply);
    case Provider::kOpenAiResponses: return ResponsesStream(model, reply);
    case Provider::kAnthropic: return AnthropicStream(model, reply);
  }
  return "";
}

}  // namespace drover::agent
