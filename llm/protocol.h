// Codecs between the neutral model types (model.h) and the provider wire formats: OpenAI Chat
// Completions, the OpenAI Responses API and Anthropic Messages, for requests and replies in
// both directions, keyed by Provider through the traits table (provider.h); each protocol's
// codec is its own file. Thread-safe: pure functions. Encoders are deterministic (keys in a
// fixed order, no per-call fields), so a conversation that grows keeps a byte-identical prefix
// for the providers' prompt caches.
//
// Usage convention: Usage.input_tokens counts every prompt token, cached ones included, and
// cached_input_tokens is the cached part (OpenAI's prompt_tokens semantics; the Responses API's
// input_tokens and input_tokens_details.cached_tokens). Anthropic reports uncached input_tokens
// plus cache_read_input_tokens and cache_creation_input_tokens; the codec sums them into
// input_tokens, counts cache reads as cached, and converts back.
#pragma once

#include <string>
#include <string_view>

#include "llm/model.h"
#include "core/error.h"
#include "core/json.h"

namespace drover::agent {

// The path a request goes to: "/v1/chat/completions", "/v1/responses" or "/v1/messages".
std::string_view RequestPath(Provider provider);

// The public endpoint: "https://api.openai.com/v1" for both OpenAI APIs (includes /v1, like
// OPENAI_BASE_URL) or
// "https://api.anthropic.com" (like ANTHROPIC_BASE_URL).
std::string DefaultBaseUrl(Provider provider);

// The full request URL for a base URL in that provider's convention: OpenAI base +
// "/chat/completions" or "/responses", Anthropic base + "/v1/messages". Trailing slashes are
// tolerated.
std::string UpstreamUrl(Provider provider, std::string_view base_url);

// The request body for `request`. Anthropic: system messages go to the top-level "system",
// consecutive tool results become one user message of tool_result blocks, a tool call whose
// arguments are not a JSON object is sent with input {}, and when any message has a
// cache_breakpoint, cache_control marks the system prompt, the last tool and the last block
// of the latest marked messages (four in all at most). Responses API: system messages become
// "instructions", the rest input items (message, function_call, function_call_output), and
// "store" is false. request.stream adds the provider's streaming fields.
Json EncodeRequest(Provider provider, const ModelRequest& request);

// Parses a request body in the provider's format (Anthropic cache_control on a message's
// block sets its cache_breakpoint). Errors: kParse (not JSON), kProtocol (not the provider's
// shape; the message names the field).
Result<ModelRequest> DecodeRequest(Provider provider, std::string_view body);

// A complete, successful provider response carrying `reply`. An empty stop_reason is derived
// from the reply; the other provider's stop words are translated.
Json EncodeResponse(Provider provider, const std::string& model, const ModelReply& reply);

// Parses a successful provider response. Errors: kParse (not JSON), kProtocol (an error
// object, or not the provider's shape). Tool call arguments are kept as raw text.
Result<ModelReply> DecodeResponse(Provider provider, std::string_view body);

// The message of a provider error body ({"error": {"message": ...}} and similar), or the body
// itself truncated to a few hundred bytes.
std::string ErrorMessageFromBody(std::string_view body);

}  // namespace drover::agent
