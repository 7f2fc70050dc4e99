// Streamed model replies: a decoder that assembles a ModelReply from a provider's server-sent
// events (OpenAI Chat Completions chunks, Responses API events, Anthropic Messages events),
// and an encoder that renders a ModelReply as such a stream. The events of each protocol are
// read and written in its codec file (provider.h); this is the part they share.
// Thread-compatible: one decoder per stream; EncodeStream is pure.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "llm/model.h"
#include "llm/provider.h"
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

  Provider provider_;
  SseParser parser_;
  std::unique_ptr<ProtocolStreamDecoder> events_;
  bool done_ = false;
  std::optional<Error> error_;
};

// `reply` as the body of a successful streamed response in the provider's protocol, the
// counterpart of EncodeResponse (protocol.h).
std::string EncodeStream(Provider provider, const std::string& model, const ModelReply& reply);

}  // namespace drover::agent
