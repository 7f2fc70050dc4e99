// Streamed model replies: a decoder that assembles a ModelReply from a provider's server-sent
// events (OpenAI Chat Completions chunks, Responses API events, Anthropic Messages events),
// and an encoder that renders a ModelReply as such a stream.
// Thread-compatible: one decoder per stream; EncodeStream is pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "llm/model.h"
#include "llm/sse.h"
#include "core/error.h"
#include "core/json.h"

namespace drover::agent {

class StreamDecoder {
 public:
  explicit StreamDecoder(Provider provider);

  // Takes the next bytes of the response body (split anywhere). Once it has failed, it keeps
  // returning the same error. Errors: an error event as the equivalent HTTP status would be
  // (kUnavailable for overloaded/server errors, kRateLimited, kProtocol otherwise); kParse or
  // kProtocol for an event that is not the provider's shape (the message names the event).
  Status Feed(std::string_view bytes);

  // The assembled reply. Errors: those of Feed; kUnavailable when the stream ended before the
  // provider's final event (a cut connection is worth another try).
  Result<ModelReply> Finish();

 private:
  Status Event(const SseEvent& event);
  Status OpenAiChatEvent(const Json& data);
  Status ResponsesEvent(const std::string& type, const Json& data);
  Status AnthropicEvent(const std::string& type, const Json& data);

  Provider provider_;
  SseParser parser_;
  ModelReply reply_;
  std::map<int64_t, ToolCall> calls_;  // By the provider's index of the call or block.
  std::optional<ModelReply> completed_;  // Responses API: the final response object's reply.
  bool done_ = false;
  std::optional<Error> error_;
};

// `reply` as the body of a successful streamed response in the provider's protocol, the
// counterpart of EncodeResponse (protocol.h).
std::string EncodeStream(Provider provider, const std::string& model, const ModelReply& reply);

}  // namespace drover::agent
