// Cassettes: a job's model exchanges as a hand-writable JSON file, replayed by the gateway in
// place of a real model, and written by it when recording.
// Thread-safe: value types and pure functions. Format:
//   {"drover_cassette": 1, "exchanges": [
//     {"expect": {"last_message_contains": ["text", ...]},          // optional
//      "reply": {"text": "...", "tool_calls": [{"name": "read_file", "arguments": {...}},
//                                              {"name": "edit", "arguments_raw": "{not json"}],
//                "usage": {"input_tokens": 1200, "output_tokens": 80}}},   // usage optional
//     {"status": 503, "body": "overloaded", "headers": {"retry-after": "1"}}]}
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/model.h"
#include "core/error.h"
#include "core/http.h"
#include "core/json.h"

namespace drover::fleet {

struct CassetteExchange {
  // Each must occur in the text of the request's last message (for a trailing run of tool
  // results: in any one of them). Empty: any request matches.
  std::vector<std::string> last_message_contains;
  // Exactly one of `reply` and `failure` is set.
  std::optional<agent::ModelReply> reply;
  // False: the file gave no usage and the gateway estimates it from the sizes.
  bool has_usage = false;
  // An injected upstream answer (status, body, headers), returned to the agent as is.
  std::optional<HttpResponse> failure;
};

struct Cassette {
  std::vector<CassetteExchange> exchanges;
};

// Parses cassette text; `name` (usually the file) prefixes every error. Tool calls without an
// id get "call_<n>", numbered through the cassette. Errors: kParse (not JSON),
// kInvalidArgument naming the exchange (counted from 0) and the field ("cassette x.json:
// exchange 3: reply.tool_calls[0]: missing name"). A bare list of exchanges is accepted too.
Result<Cassette> ParseCassette(std::string_view text, std::string_view name);
// Reads and parses a file. Errors: kNotFound/kIo, and those of ParseCassette.
Result<Cassette> LoadCassette(const std::filesystem::path& path);

// The JSON form; replies are written with explicit usage and arguments_raw when the arguments
// are not a JSON object.
Json CassetteToJson(const Cassette& cassette);
Status SaveCassette(const std::filesystem::path& path, const Cassette& cassette);

// dir/<repository>.json. kNotFound naming both the repository and the folder otherwise.
Result<std::filesystem::path> FindCassette(const std::filesystem::path& dir,
                                           std::string_view repository);

// Why `request` does not meet the exchange's expectation (quoting the expected text), or
// nullopt when it does.
std::optional<std::string> ExpectationMismatch(const CassetteExchange& exchange,
                                               const agent::ModelRequest& request);

}  // namespace drover::fleet
