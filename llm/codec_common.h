// What the protocol codecs (openai_chat.h, openai_responses.h, anthropic_messages.h) share:
// lenient JSON field access, shape errors, tool lists and tool-call arguments, stop words, and
// the error events of streams. Internal to llm/. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "llm/model.h"

namespace drover::agent::codec {

// The member `key` of `object` when present and not null.
const Json* Member(const Json& object, const char* key);

// A string member, else `fallback`.
std::string StringOr(const Json& object, const char* key, std::string fallback = "");

// A number member (a fraction truncated), else `fallback`.
int64_t IntOr(const Json& object, const char* key, int64_t fallback);

// `value` as compact JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string Dump(const Json& value);

// kProtocol "WHAT: WHERE: PROBLEM".
std::unexpected<Error> ShapeError(std::string_view what, const std::string& where,
                                  std::string_view problem);

// A request's `tools`, the same in every protocol but for where each entry keeps its schema:
// under `nested` (Chat Completions' "function") or in the entry itself (`nested` ""), with
// the JSON Schema under `schema_key`. Errors: kProtocol naming `what` and the entry.
Status DecodeTools(const Json& body, std::string_view what, const char* nested,
                   const char* schema_key, std::vector<ToolSchema>& out);

// Text of a content field: a string, null, or an array of blocks whose "text" parts are joined.
std::string ContentText(const Json& content);

// A tool call's "arguments" as raw text: the documented string, or the JSON text of an object
// (which some compatible servers send instead).
std::string ArgumentsText(const Json& arguments);

// Whether a request body asks for a stream ("stream": true).
bool StreamFlag(const Json& body);

// The OpenAI stop word ("stop", "tool_calls", "length", ...) for a reply: derived when empty,
// Anthropic's words translated.
std::string StopForOpenAi(const ModelReply& reply);

// A provider's error object inside a stream ({"error": {"type"/"code", "message"}} or
// {"type": "error", "code", "message"}), classified as the HTTP status it stands for:
// kUnavailable for overloaded/server errors, kRateLimited, kProtocol otherwise.
Error StreamErrorFromObject(Provider provider, const Json& data);

// One named server-sent event carrying `data`.
std::string SseEventText(const char* name, const Json& data);

// `reply` with the calls assembled from a stream appended in the provider's index order.
ModelReply WithStreamedCalls(ModelReply reply, std::map<int64_t, ToolCall>& calls);

}  // namespace drover::agent::codec
