// The provider traits table: one row per Provider with its names, endpoint, credentials and
// protocol codec; every provider-specific dispatch in drover reads it. Adding a provider is one
// codec file (or a reused codec) plus one row. Thread-safe: the table is constant.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/http.h"
#include "core/json.h"
#include "llm/model.h"

namespace drover::agent {

// One protocol's half of a streamed reply: takes the decoded events and assembles the reply.
// StreamDecoder (stream.h) splits the bytes into events and parses their data. One per stream.
class ProtocolStreamDecoder {
 public:
  virtual ~ProtocolStreamDecoder() = default;
  // One event: `type` is the event's name, else its data's "type"; `data` is a JSON object.
  // Errors as StreamDecoder::Feed; a Json::exception (a field of the wrong type) is turned
  // into kProtocol by the caller.
  virtual Status Event(const std::string& type, const Json& data) = 0;
  // Whether the protocol's final event has been taken.
  virtual bool Done() const = 0;
  // The assembled reply. REQUIRES: Done(); called once.
  virtual ModelReply Finish() = 0;
};

// A wire protocol between the neutral types (model.h) and a provider's JSON, as protocol.h and
// stream.h document it. Decoders may throw Json::exception; the callers in protocol.cc and
// stream.cc turn that into kProtocol.
struct ProtocolCodec {
  Json (*encode_request)(const ModelRequest& request);
  Result<ModelRequest> (*decode_request)(const Json& body);
  Json (*encode_response)(const std::string& model, const ModelReply& reply);
  Result<ModelReply> (*decode_response)(const Json& body);
  std::string (*encode_stream)(const std::string& model, const ModelReply& reply);
  // `provider` names the stream in error messages.
  std::unique_ptr<ProtocolStreamDecoder> (*new_stream_decoder)(Provider provider);
  // The data of an event that ends the stream without being JSON ("[DONE]"); empty: none.
  std::string_view done_data;
};

struct ProviderTraits {
  Provider provider;
  std::string_view name;  // ProviderName: "openai", "openai-responses", "anthropic".
  // Where the gateway serves the protocol (RequestPath): base_path + endpoint.
  std::string_view request_path;
  // The provider's base-URL convention: a base URL ends in base_path ("/v1" for OpenAI, like
  // OPENAI_BASE_URL; "" for Anthropic), and UpstreamUrl appends `endpoint` to it.
  std::string_view base_path;
  std::string_view endpoint;
  std::string_view default_base_url;
  // The credentials' environment: the key in <env_prefix>_API_KEY, the base URL in
  // <env_prefix>_BASE_URL.
  std::string_view env_prefix;
  // The key goes in `auth_header` as auth_scheme + key.
  std::string_view auth_header;
  std::string_view auth_scheme;
  // A header every request carries ("anthropic-version"); empty: none.
  std::string_view version_header;
  std::string_view version;
  // Fields asking the provider for one answer and to keep nothing, for a relay that rebuilds
  // every request from its own record (the gateway): a JSON object's text.
  std::string_view stateless_fields;
  const ProtocolCodec* codec;
};

// The row of `provider`.
const ProviderTraits& TraitsOf(Provider provider);

// Every row, in the order of the Provider enumerators.
std::span<const ProviderTraits> AllProviderTraits();

// The provider served at `path`: its request_path, or its endpoint alone (a client whose
// OpenAI-style base URL lacks "/v1"). nullptr when none is.
const ProviderTraits* ProviderForPath(std::string_view path);

// Sets the provider's credential header for `api_key` (none when it is empty) and its
// version header in `headers`.
void AddCredentialHeaders(Provider provider, std::string_view api_key, HttpHeaders& headers);

// Adds the provider's stateless_fields to a request body.
void AddStatelessFields(Provider provider, Json& body);

}  // namespace drover::agent
