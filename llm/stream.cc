#include "llm/stream.h"

#include "llm/codec_common.h"

namespace drover::agent {

StreamDecoder::StreamDecoder(Provider provider)
    : provider_(provider), events_(TraitsOf(provider).codec->new_stream_decoder(provider)) {}

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
  return events_->Finish();
}

Status StreamDecoder::Event(const SseEvent& event) {
  if (done_) return {};
  const std::string_view done_data = TraitsOf(provider_).codec->done_data;
  if (!done_data.empty() && event.data == done_data) {
    done_ = true;
    return {};
  }
  std::string what = std::string(ProviderName(provider_)) + " stream event" +
                     (event.event.empty() ? "" : " " + event.event);
  auto data = ParseJson(event.data, what);
  if (!data) return Fail(data.error());
  if (!data->is_object()) return Fail(ErrorCode::kProtocol, what + ": expected a JSON object");
  const std::string type = event.event.empty() ? codec::StringOr(*data, "type") : event.event;
  try {
    if (auto handled = events_->Event(type, *data); !handled) return handled;
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kProtocol, what + ": " + e.what());
  }
  done_ = events_->Done();
  return {};
}

std::string EncodeStream(Provider provider, const std::string& model, const ModelReply& reply) {
  return TraitsOf(provider).codec->encode_stream(model, reply);
}

}  // namespace drover::agent
