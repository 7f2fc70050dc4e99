#include "gateway/cassette.h"

#include <set>
#include <utility>

#include "core/fs.h"

namespace drover::fleet {
namespace {

constexpr int kFormatVersion = 1;

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Builds the errors of one file: "cassette x.json: exchange 3: reply.text: expected a string".
class Problems {
 public:
  explicit Problems(std::string_view name) : name_(name) {}
  std::unexpected<Error> At(size_t exchange, std::string_view field, std::string_view problem) const {
    return Fail(ErrorCode::kInvalidArgument, "cassette " + name_ + ": exchange " +
                                                 std::to_string(exchange) + ": " +
                                                 std::string(field) + ": " + std::string(problem));
  }
  std::unexpected<Error> File(std::string_view problem) const {
    return Fail(ErrorCode::kInvalidArgument, "cassette " + name_ + ": " + std::string(problem));
  }

 private:
  std::string name_;
};

// The first key of `object` not in `allowed`, if any: typos in hand-written files must not
// pass silently.
std::optional<std::string> UnknownKey(const Json& object, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : object.items()) {
    if (!allowed.contains(key)) return key;
  }
  return std::nullopt;
}

Result<int64_t> TokenCount(const Json& usage, const char* key, const Problems& problems,
                           size_t index) {
  auto it = usage.find(key);
  if (it == usage.end()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return problems.At(index, std::string("reply.usage.") + key, "expected a whole number >= 0");
  }
  return it->get<int64_t>();
}

Result<CassetteExchange> ParseExchange(const Json& in, size_t index, int& next_call_id,
                                       const Problems& problems) {
  CassetteExchange exchange;
  if (!in.is_object()) return problems.At(index, "exchange", "expected an object");
  if (auto key = UnknownKey(in, {"expect", "reply", "status", "body", "headers"})) {
    return problems.At(index, *key, "unknown field");
  }
  if (auto it = in.find("expect"); it != in.end()) {
    if (!it->is_object()) return problems.At(index, "expect", "expected an object");
    if (auto key = UnknownKey(*it, {"last_message_contains"})) {
      return problems.At(index, "expect." + *key, "unknown field");
    }
    if (auto texts = it->find("last_message_contains"); texts != it->end()) {
      Json list = texts->is_string() ? Json::array({*texts}) : *texts;
      if (!list.is_array()) {
        return problems.At(index, "expect.last_message_contains", "expected a list of strings");
      }
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) {
          return problems.At(index, "expect.last_message_contains[" + std::to_string(i) + "]",
                             "expected a string");
        }
        exchange.last_message_contains.push_back(list[i].get<std::string>());
      }
    }
  }

  const bool has_reply = in.contains("reply");
  const bool has_status = in.contains("status");
  if (has_reply == has_status) {
    return problems.At(index, "reply", has_reply ? "give either reply or status, not both"
                                                 : "missing reply (or status for a failure)");
  }
  if (has_status) {
    const Json& status = in["status"];
    if (!status.is_number_integer() || status.get<int64_t>() < 100 ||
        status.get<int64_t>() > 599) {
      return problems.At(index, "status", "expected an HTTP status between 100 and 599");
    }
    HttpResponse failure;
    failure.status = status.get<int>();
    if (auto body = in.find("body"); body != in.end()) {
      failure.body = body->is_string() ? body->get<std::string>() : Dump(*body);
    }
    if (auto headers = in.find("headers"); headers != in.end()) {
      if (!headers->is_object()) return problems.At(index, "headers", "expected an object");
      for (const auto& [name, value] : headers->items()) {
        if (!value.is_string()) {
          return problems.At(index, "headers." + name, "expected a string");
        }
        failure.headers[LowerHeaderName(name)] = value.get<std::string>();
      }
    }
    exchange.failure = std::move(failure);
    return exchange;
  }
  for (const char* key : {"body", "headers"}) {
    if (in.contains(key)) return problems.At(index, key, "only allowed with status");
  }

  const Json& reply_json = in["reply"];
  if (!reply_json.is_object()) return problems.At(index, "reply", "expected an object");
  if (auto key = UnknownKey(reply_json, {"text", "tool_calls", "usage", "stop_reason"})) {
    return problems.At(index, "reply." + *key, "unknown field");
  }
  agent::ModelReply reply;
  if (auto text = reply_json.find("text"); text != reply_json.end() && !text->is_null()) {
    if (!text->is_string()) return problems.At(index, "reply.text", "expected a string");
    reply.text = text->get<std::string>();
  }
  if (auto stop = reply_json.find("stop_reason"); stop != reply_json.end()) {
    if (!stop->is_string()) return problems.At(index, "reply.stop_reason", "expected a string");
    reply.stop_reason = stop->get<std::string>();
  }
  if (auto calls = reply_json.find("tool_calls"); calls != reply_json.end()) {
    if (!calls->is_array()) return problems.At(index, "reply.tool_calls", "expected a list");
    for (size_t i = 0; i < calls->size(); ++i) {
      const Json& call_json = (*calls)[i];
      std::string field = "reply.tool_calls[" + std::to_string(i) + "]";
      if (!call_json.is_object()) return problems.At(index, field, "expected an object");
      if (auto key = UnknownKey(call_json, {"id", "name", "arguments", "arguments_raw"})) {
        return problems.At(index, field + "." + *key, "unknown field");
      }
      agent::ToolCall call;
      auto name = call_json.find("name");
      if (name == call_json.end()) return problems.At(index, field, "missing name");
      if (!name->is_string() || name->get<std::string>().empty()) {
        return problems.At(index, field + ".name", "expected a non-empty string");
      }
      call.name = name->get<std::string>();
      ++next_call_id;
      if (auto id = call_json.find("id"); id != call_json.end()) {
        if (!id->is_string()) return problems.At(index, field + ".id", "expected a string");
        call.id = id->get<std::string>();
      } else {
        call.id = "call_" + std::to_string(next_call_id);
      }
      auto arguments = call_json.find("arguments");
      auto raw = call_json.find("arguments_raw");
      if (arguments != call_json.end() && raw != call_json.end()) {
        return problems.At(index, field, "give either arguments or arguments_raw, not both");
      }
      if (raw != call_json.end()) {
        if (!raw->is_string()) {
          return problems.At(index, field + ".arguments_raw", "expected a string");
        }
        call.arguments = raw->get<std::string>();
      } else if (arguments != call_json.end()) {
        if (!arguments->is_object()) {
          return problems.At(index, field + ".arguments",
                             "expected an object (use arguments_raw for raw text)");
        }
        call.arguments = Dump(*arguments);
      } else {
        call.arguments = "{}";
      }
      reply.tool_calls.push_back(std::move(call));
    }
  }
  if (auto usage = reply_json.find("usage"); usage != reply_json.end()) {
    if (!usage->is_object()) return problems.At(index, "reply.usage", "expected an object");
    if (auto key = UnknownKey(*usage, {"input_tokens", "output_tokens", "cached_input_tokens"})) {
      return problems.At(index, "reply.usage." + *key, "unknown field");
    }
    auto input = TokenCount(*usage, "input_tokens", problems, index);
    if (!input) return Fail(input.error());
    auto output = TokenCount(*usage, "output_tokens", problems, index);
    if (!output) return Fail(output.error());
    auto cached = TokenCount(*usage, "cached_input_tokens", problems, index);
    if (!cached) return Fail(cached.error());
    reply.usage = agent::Usage{*input, *output, *cached};
    exchange.has_usage = true;
  }
  exchange.reply = std::move(reply);
  return exchange;
}

// The texts an expectation is checked against: the last message, or every tool result of a
// trailing run of them.
std::vector<const std::string*> LastTexts(const agent::ModelRequest& request) {
  std::vector<const std::string*> texts;
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role != agent::Role::kTool) {
      if (texts.empty()) texts.push_back(&it->text);
      break;
    }
    texts.push_back(&it->text);
  }
  return texts;
}

}  // namespace

Result<Cassette> ParseCassette(std::string_view text, std::string_view name) {
  auto json = ParseJson(text, "cassette " + std::string(name));
  if (!json) return Fail(json.error());
  Problems problems(name);
  const Json* exchanges = &*json;
  if (json->is_object()) {
    auto version = json->find("drover_cassette");
    if (version == json->end()) return problems.File("missing \"drover_cassette\": 1");
    if (!version->is_number_integer() || version->get<int64_t>() != kFormatVersion) {
      return problems.File("unsupported drover_cassette version " + Dump(*version) +
                           " (this drover reads 1)");
    }
    if (auto key = UnknownKey(*json, {"drover_cassette", "exchanges"})) {
      return problems.File("unknown field " + *key);
    }
    auto it = json->find("exchanges");
    if (it == json->end()) return problems.File("missing exchanges");
    exchanges = &*it;
  }
  if (!exchanges->is_array()) return problems.File("exchanges: expected a list");
  Cassette cassette;
  int next_call_id = 0;
  try {
    for (size_t i = 0; i < exchanges->size(); ++i) {
      auto exchange = ParseExchange((*exchanges)[i], i, next_call_id, problems);
      if (!exchange) return Fail(exchange.error());
      cassette.exchanges.push_back(*std::move(exchange));
    }
  } catch (const Json::exception& e) {
    return problems.File(e.what());
  }
  return cassette;
}

Result<Cassette> LoadCassette(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text) return Fail(text.error());
  return ParseCassette(*text, path.string());
}

Json CassetteToJson(const Cassette& cassette) {
  Json exchanges = Json::array();
  for (const auto& exchange : cassette.exchanges) {
    Json out = Json::object();
    if (!exchange.last_message_contains.empty()) {
      out["expect"] = {{"last_message_contains", exchange.last_message_contains}};
    }
    if (exchange.failure) {
      out["status"] = exchange.failure->status;
      out["body"] = exchange.failure->body;
      if (!exchange.failure->headers.empty()) out["headers"] = exchange.failure->headers;
    } else if (exchange.reply) {
      const agent::ModelReply& reply = *exchange.reply;
      Json calls = Json::array();
      for (const auto& call : reply.tool_calls) {
        Json call_json = {{"id", call.id}, {"name", call.name}};
        auto arguments = ParseJson(call.arguments, "arguments");
        if (arguments && arguments->is_object()) {
          call_json["arguments"] = *std::move(arguments);
        } else {
          call_json["arguments_raw"] = call.arguments;
        }
        calls.push_back(std::move(call_json));
      }
      Json reply_json = {{"text", reply.text}};
      if (!calls.empty()) reply_json["tool_calls"] = std::move(calls);
      if (!reply.stop_reason.empty()) reply_json["stop_reason"] = reply.stop_reason;
      reply_json["usage"] = {{"input_tokens", reply.usage.input_tokens},
                             {"output_tokens", reply.usage.output_tokens},
                             {"cached_input_tokens", reply.usage.cached_input_tokens}};
      out["reply"] = std::move(reply_json);
    }
    exchanges.push_back(std::move(out));
  }
  return {{"drover_cassette", kFormatVersion}, {"exchanges", std::move(exchanges)}};
}

Status SaveCassette(const std::filesystem::path& path, const Cassette& cassette) {
  std::string text =
      CassetteToJson(cassette).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return WriteFileAtomic(path, text);
}

Result<std::filesystem::path> FindCassette(const std::filesystem::path& dir,
                                           std::string_view repository) {
  std::filesystem::path path = dir / (std::string(repository) + ".json");
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  return Fail(ErrorCode::kNotFound, "no cassette for repository '" + std::string(repository) +
                                        "' in " + dir.string() + " (expected " +
                                        path.filename().string() + ")");
}

std::optional<std::string> ExpectationMismatch(const CassetteExchange& exchange,
                                               const agent::ModelRequest& request) {
  if (exchange.last_message_contains.empty()) return std::nullopt;
  auto texts = LastTexts(request);
  for (const auto& expected : exchange.last_message_contains) {
    bool found = false;
    for (const std::string* text : texts) found = found || text->find(expected) != std::string::npos;
    if (!found) {
      std::string seen = texts.empty() ? std::string("(no messages)") : *texts.front();
      if (seen.size() > 200) seen = seen.substr(0, 200) + "...";
      return "expected the last message to contain \"" + expected + "\", but it was: \"" +
             seen + "\"";
    }
  }
  return std::nullopt;
}

}  // namespace drover::fleet
