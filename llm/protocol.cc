#include "llm/protocol.h"

#include "llm/codec_common.h"
#include "llm/provider.h"

namespace drover::agent {
namespace {

constexpr size_t kMaxErrorBodyChars = 300;

using codec::Member;

// Parses `body` as a JSON object and hands it to the provider's decoder. Decoders read fields
// with nlohmann accessors that throw on a wrong type: that becomes kProtocol naming `what`.
template <typename T>
Result<T> DecodeBody(Provider provider, std::string_view body, std::string_view what,
                     Result<T> (*decode)(const Json&)) {
  std::string name = std::string(ProviderName(provider)) + " " + std::string(what);
  auto json = ParseJson(body, name);
  if (!json) return Fail(json.error());
  if (!json->is_object()) return Fail(ErrorCode::kProtocol, name + ": expected a JSON object");
  try {
    return decode(*json);
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kProtocol, name + ": " + e.what());
  }
}

}  // namespace

std::string_view RequestPath(Provider provider) { return TraitsOf(provider).request_path; }

std::string DefaultBaseUrl(Provider provider) {
  return std::string(TraitsOf(provider).default_base_url);
}

std::string UpstreamUrl(Provider provider, std::string_view base_url) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  return std::string(base_url) + std::string(TraitsOf(provider).endpoint);
}

Json EncodeRequest(Provider provider, const ModelRequest& request) {
  return TraitsOf(provider).codec->encode_request(request);
}

Result<ModelRequest> DecodeRequest(Provider provider, std::string_view body) {
  return DecodeBody(provider, body, "request", TraitsOf(provider).codec->decode_request);
}

Json EncodeResponse(Provider provider, const std::string& model, const ModelReply& reply) {
  return TraitsOf(provider).codec->encode_response(model, reply);
}

Result<ModelReply> DecodeResponse(Provider provider, std::string_view body) {
  return DecodeBody(provider, body, "reply", TraitsOf(provider).codec->decode_response);
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
