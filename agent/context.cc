#include "agent/context.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "agent/messages.h"
#include "agent/tools.h"
#include "core/json.h"
#include "llm/protocol.h"

namespace drover::agent {
namespace {

constexpr size_t kNoteReserveBytes = 200;
constexpr size_t kMinElideBytes = 512;
constexpr size_t kMaxGistBytes = 80;
constexpr size_t kMaxDigestEntries = 40;
constexpr size_t kMaxDigestCommands = 20;
constexpr std::string_view kElidedPrefix = "[elided: ";
constexpr std::string_view kDigestPrefix = "[Context digest: ";

// Thresholds of ContextWindow, in percent of the room.
constexpr int64_t kElideAtPercent = 60;
constexpr int64_t kElideStepPercent = 10;
constexpr int64_t kKeepObservationsPercent = 20;
constexpr int64_t kCompactAtPercent = 80;
constexpr int64_t kKeepRecentPercent = 30;

int64_t Percent(int64_t room, int64_t percent) {
  return room * percent / 100;
}

// Largest n <= limit that does not split a UTF-8 sequence of `text`.
size_t Utf8Floor(std::string_view text, size_t limit) {
  size_t n = std::min(limit, text.size());
  while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

// Smallest n >= from that does not split a UTF-8 sequence of `text`.
size_t Utf8Ceil(std::string_view text, size_t from) {
  size_t n = from;
  while (n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) ++n;
  return n;
}

std::string Clip(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, Utf8Floor(text, max_bytes))) + "...";
}

std::string SizeText(size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f KB", static_cast<double>(bytes) / 1024.0);
  return buf;
}

std::string FirstLine(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

Json Arguments(const ToolCall& call) {
  auto parsed = ParseJson(call.arguments, "arguments");
  return parsed && parsed->is_object() ? *parsed : Json::object();
}

std::string StringArg(const Json& args, const char* key) {
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : "";
}

// A few words saying what a call was about: its path, pattern or command.
std::string Gist(const ToolCall& call) {
  Json args = Arguments(call);
  std::string gist;
  if (call.name == tool_name::kRun) {
    gist = "`" + StringArg(args, "command") + "`";
  } else if (call.name == tool_name::kSearch) {
    gist = "`" + StringArg(args, "pattern") + "`";
    if (std::string path = StringArg(args, "path"); !path.empty()) gist += " in " + path;
  } else if (call.name == tool_name::kListFiles) {
    gist = StringArg(args, "path") + " " + StringArg(args, "glob");
  } else {
    gist = StringArg(args, "path");
  }
  if (call.name == tool_name::kReadFile && args.contains("start_line")) {
    gist += " from line " + args["start_line"].dump();
  }
  auto first = gist.find_first_not_of(' ');
  return first == std::string::npos ? "" : Clip(gist.substr(first), kMaxGistBytes);
}

std::map<std::string, const ToolCall*> CallsById(const std::vector<Message>& messages) {
  std::map<std::string, const ToolCall*> calls;
  for (const auto& message : messages) {
    for (const auto& call : message.tool_calls) calls[call.id] = &call;
  }
  return calls;
}

const ToolCall* CallOf(const Message& result, const std::map<std::string, const ToolCall*>& calls) {
  auto it = calls.find(result.tool_call_id);
  return it == calls.end() ? nullptr : it->second;
}

// verify results and refused finishes carry the verifiers' report.
bool IsReport(const Message& message, const ToolCall* call) {
  return message.role == Role::kTool && call != nullptr &&
         (call->name == tool_name::kVerify ||
          (call->name == tool_name::kFinish && message.is_error));
}

std::optional<size_t> LatestReport(const std::vector<Message>& messages,
                                   const std::map<std::string, const ToolCall*>& calls) {
  for (size_t i = messages.size(); i-- > 0;) {
    if (IsReport(messages[i], CallOf(messages[i], calls))) return i;
  }
  return std::nullopt;
}

size_t RangeBytes(const std::vector<Message>& messages, size_t from, size_t to) {
  size_t bytes = 0;
  for (size_t i = from; i < to; ++i) bytes += MessageBytes(messages[i]);
  return bytes;
}

// The list joined with ", ", the first kMaxDigestEntries of it.
std::string JoinCapped(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kMaxDigestEntries; ++i) {
    out += (i == 0 ? "" : ", ") + items[i];
  }
  if (items.size() > kMaxDigestEntries) {
    out += " and " + std::to_string(items.size() - kMaxDigestEntries) + " more";
  }
  return out;
}

// What the replaced turns did, gathered from their calls and results.
class Digest {
 public:
  void Add(const ToolCall& call, const Message* result) {
    bool ok = result != nullptr && !result->is_error;
    Json args = Arguments(call);
    if (call.name == tool_name::kReadFile && ok) {
      Note(files_read_, StringArg(args, "path"));
    } else if (call.name == tool_name::kEdit && ok) {
      auto list = args.find("edits");
      if (list != args.end() && list->is_array()) {
        for (const auto& item : *list) {
          if (item.is_object()) ++Change(StringArg(item, "path")).edits;
        }
      } else {
        ++Change(StringArg(args, "path")).edits;
      }
    } else if (call.name == tool_name::kWriteFile && ok) {
      ++Change(StringArg(args, "path")).writes;
    } else if (call.name == tool_name::kSearch) {
      Note(searches_, "`" + Clip(StringArg(args, "pattern"), kMaxGistBytes) + "`");
    } else if (call.name == tool_name::kRun) {
      std::string status = result == nullptr ? "no result" : FirstLine(result->text);
      status = status.substr(0, status.find(" ("));
      commands_.push_back("`" + Clip(StringArg(args, "command"), kMaxGistBytes) +
                          "`: " + Clip(status, kMaxGistBytes));
    }
  }

  std::string Text() const {
    std::string out;
    if (!files_read_.empty()) out += "Files read: " + JoinCapped(files_read_) + "\n";
    if (!changes_.empty()) {
      std::vector<std::string> items;
      for (const auto& [path, counts] : changes_) {
        std::string item = path + " (";
        if (counts.edits > 0) item += Count(counts.edits, "edit");
        if (counts.edits > 0 && counts.writes > 0) item += ", ";
        if (counts.writes > 0) item += Count(counts.writes, "write");
        items.push_back(item + ")");
      }
      out += "Files changed: " + JoinCapped(items) + "\n";
    }
    if (!searches_.empty()) out += "Searches: " + JoinCapped(searches_) + "\n";
    if (!commands_.empty()) {
      out += "Commands run:\n";
      size_t skip =
          commands_.size() > kMaxDigestCommands ? commands_.size() - kMaxDigestCommands : 0;
      if (skip > 0) out += "- (" + std::to_string(skip) + " earlier commands not listed)\n";
      for (size_t i = skip; i < commands_.size(); ++i) out += "- " + commands_[i] + "\n";
    }
    return out;
  }

 private:
  struct Counts {
    int edits = 0;
    int writes = 0;
  };

  static std::string Count(int n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  }
  static void Note(std::vector<std::string>& list, std::string item) {
    if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
  }
  Counts& Change(const std::string& path) {
    for (auto& [known, counts] : changes_) {
      if (known == path) return counts;
    }
    return changes_.emplace_back(path, Counts{}).second;
  }

  std::vector<std::string> files_read_;
  std::vector<std::pair<std::string, Counts>> changes_;
  std::vector<std::string> searches_;
  std::vector<std::string> commands_;
};

// The request with its cache breakpoints cleared, encoded: tools and system, then messages.
std::pair<std::string, std::vector<std::string>> EncodedParts(Provider provider,
                                                              ModelRequest request) {
  for (auto& message : request.messages) message.cache_breakpoint = false;
  Json body = EncodeRequest(provider, request);
  std::string head =
      body.value("tools", Json::array()).dump() + body.value("system", Json()).dump();
  std::vector<std::string> messages;
  for (const auto& message : body.value("messages", Json::array())) {
    messages.push_back(message.dump());
  }
  return {std::move(head), std::move(messages)};
}

}  // namespace

int64_t EstimateTokens(size_t bytes) {
  return static_cast<int64_t>(bytes / 4);
}

size_t MessageBytes(const Message& message) {
  size_t bytes = message.text.size();
  for (const auto& call : message.tool_calls) {
    bytes += call.id.size() + call.name.size() + call.arguments.size();
  }
  return bytes;
}

int64_t EstimateTokens(const std::vector<Message>& messages) {
  return EstimateTokens(RangeBytes(messages, 0, messages.size()));
}

std::string TruncateToolOutput(std::string_view text, int64_t max_tokens) {
  size_t budget = static_cast<size_t>(std::max<int64_t>(max_tokens, 0)) * 4;
  if (text.size() <= budget) return std::string(text);
  size_t room = budget > kNoteReserveBytes ? budget - kNoteReserveBytes : 0;
  size_t head_room = room / 2;
  size_t tail_room = room - head_room;

  size_t head = 0;
  if (head_room > 0) {
    size_t newline = text.rfind('\n', head_room - 1);
    head = newline != std::string_view::npos ? newline + 1 : Utf8Floor(text, head_room);
  }
  size_t tail = text.size();
  if (tail_room > 0) {
    size_t from = text.size() - tail_room;
    size_t newline = text[from - 1] == '\n' ? from - 1 : text.find('\n', from);
    tail = newline == std::string_view::npos || newline + 1 >= text.size() ? Utf8Ceil(text, from)
                                                                           : newline + 1;
  }
  std::string_view cut = text.substr(head, tail - head);
  size_t lines = static_cast<size_t>(std::count(cut.begin(), cut.end(), '\n'));
  if (!cut.empty() && cut.back() != '\n') ++lines;

  std::string out(text.substr(0, head));
  if (!out.empty() && out.back() != '\n') out += "\n";
  out += ModelMessage("output_cut_here",
                      {{"lines", std::to_string(lines) + (lines == 1 ? " line" : " lines")},
                       {"bytes", std::to_string(cut.size())}});
  out += text.substr(tail);
  return out;
}

bool IsElided(const Message& message) {
  return message.role == Role::kTool && message.text.starts_with(kElidedPrefix);
}

int ElideOldObservations(std::vector<Message>& messages, int64_t keep_tokens) {
  auto calls = CallsById(messages);
  std::optional<size_t> report = LatestReport(messages, calls);
  size_t keep_bytes = static_cast<size_t>(std::max<int64_t>(keep_tokens, 0)) * 4;
  size_t kept = 0;
  bool full = false;
  int elided = 0;
  for (size_t i = messages.size(); i-- > 0;) {
    Message& message = messages[i];
    if (message.role != Role::kTool || IsElided(message) || i == report) continue;
    if (!full && kept + message.text.size() <= keep_bytes) {
      kept += message.text.size();
      continue;
    }
    full = true;
    if (message.text.size() < kMinElideBytes) continue;
    const ToolCall* call = CallOf(message, calls);
    std::string name = call != nullptr ? call->name : "tool";
    std::string gist = call != nullptr ? Gist(*call) : "";
    message.text = std::string(kElidedPrefix) + name + (gist.empty() ? "" : " " + gist) + ", " +
                   SizeText(message.text.size()) + "; call " + name + " again if needed]";
    ++elided;
  }
  return elided;
}

bool IsDigest(const Message& message) {
  return message.role == Role::kUser && message.text.starts_with(kDigestPrefix);
}

std::vector<Message> Compact(const std::vector<Message>& history, int64_t keep_recent_tokens) {
  auto first_user = std::find_if(history.begin(), history.end(),
                                 [](const Message& m) { return m.role == Role::kUser; });
  if (first_user == history.end()) return history;
  size_t prefix = static_cast<size_t>(first_user - history.begin()) + 1;

  std::vector<size_t> turns;  // Where each turn starts: its assistant message.
  for (size_t i = prefix; i < history.size(); ++i) {
    if (history[i].role == Role::kAssistant) turns.push_back(i);
  }
  if (turns.empty()) return history;
  size_t keep_bytes = static_cast<size_t>(std::max<int64_t>(keep_recent_tokens, 0)) * 4;
  size_t recent = turns.back();
  size_t recent_bytes = RangeBytes(history, recent, history.size());
  for (size_t k = turns.size() - 1; k-- > 0;) {
    size_t bytes = RangeBytes(history, turns[k], recent);
    if (recent_bytes + bytes > keep_bytes) break;
    recent_bytes += bytes;
    recent = turns[k];
  }
  if (recent <= prefix || (recent == prefix + 1 && IsDigest(history[prefix]))) return history;

  auto calls = CallsById(history);
  std::map<std::string, const Message*> results;
  for (size_t i = prefix; i < recent; ++i) {
    if (history[i].role == Role::kTool) results[history[i].tool_call_id] = &history[i];
  }
  std::string earlier;  // A digest being replaced: what it said still holds.
  Digest digest;
  for (size_t i = prefix; i < recent; ++i) {
    if (IsDigest(history[i])) {
      const std::string& text = history[i].text;
      earlier += text.substr(std::min(text.size(), text.find('\n') + 1));
    }
    for (const auto& call : history[i].tool_calls) {
      auto found = results.find(call.id);
      digest.Add(call, found == results.end() ? nullptr : found->second);
    }
  }
  std::string text =
      std::string(kDigestPrefix) +
      ModelMessage("digest_header",
                   {{"messages", std::to_string(recent - prefix)},
                    {"tokens",
                     std::to_string(EstimateTokens(RangeBytes(history, prefix, recent)))}});
  text += earlier + digest.Text();
  std::optional<size_t> report = LatestReport(history, calls);
  if (!report) {
    text += ModelMessage("digest_no_report");
  } else if (*report < recent) {
    text += ModelMessage("digest_report", {{"report", history[*report].text}});
  } else {
    text += ModelMessage("digest_report_below");
  }

  std::vector<Message> out(history.begin(), history.begin() + static_cast<ptrdiff_t>(prefix));
  out.push_back(Message{Role::kUser, std::move(text), {}, "", false});
  out.insert(out.end(), history.begin() + static_cast<ptrdiff_t>(recent), history.end());
  return out;
}

std::string_view ContextActionName(ContextAction::Kind kind) {
  switch (kind) {
    case ContextAction::Kind::kElide: return "elide";
    case ContextAction::Kind::kCompact: return "compact";
  }
  return "elide";
}

ContextWindow::ContextWindow(int64_t room_tokens, bool managed)
    : room_tokens_(std::max<int64_t>(room_tokens, 1)), managed_(managed) {}

void ContextWindow::Add(Message message) {
  history_.push_back(message);
  view_.push_back(std::move(message));
}

std::optional<ContextAction> ContextWindow::Manage() {
  if (!managed_) return std::nullopt;
  ContextAction action;
  action.tokens_before = EstimateTokens(view_);
  action.messages_before = view_.size();
  int64_t keep_observations = Percent(room_tokens_, kKeepObservationsPercent);
  if (action.tokens_before > Percent(room_tokens_, kCompactAtPercent)) {
    std::vector<Message> compacted = Compact(history_, Percent(room_tokens_, kKeepRecentPercent));
    if (compacted.size() < history_.size()) {
      action.kind = ContextAction::Kind::kCompact;
      action.elided = ElideOldObservations(compacted, keep_observations);
      view_ = std::move(compacted);
    }
  }
  if (action.kind != ContextAction::Kind::kCompact) {
    if (action.tokens_before <= Percent(room_tokens_, kElideAtPercent) ||
        action.tokens_before - tokens_after_last_step_ < Percent(room_tokens_, kElideStepPercent)) {
      return std::nullopt;
    }
    action.elided = ElideOldObservations(view_, keep_observations);
  }
  // Set even when nothing could be elided, so the next try waits for more growth.
  tokens_after_last_step_ = EstimateTokens(view_);
  if (action.kind == ContextAction::Kind::kElide && action.elided == 0) return std::nullopt;
  action.tokens_after = tokens_after_last_step_;
  action.messages_after = view_.size();
  return action;
}

std::vector<Message> ContextWindow::Request() const {
  std::vector<Message> messages = view_;
  auto first_user = std::find_if(messages.begin(), messages.end(),
                                 [](const Message& m) { return m.role == Role::kUser; });
  if (first_user != messages.end()) first_user->cache_breakpoint = true;
  if (!messages.empty()) messages.back().cache_breakpoint = true;
  return messages;
}

PrefixShare SharedPrefix(Provider provider, const ModelRequest& previous,
                         const ModelRequest& next) {
  auto [previous_head, previous_messages] = EncodedParts(provider, previous);
  auto [next_head, next_messages] = EncodedParts(provider, next);
  PrefixShare share;
  share.total_bytes = next_head.size();
  for (const auto& message : next_messages) share.total_bytes += message.size();
  if (previous_head != next_head) return share;
  share.shared_bytes = next_head.size();
  size_t same = 0;
  while (same < previous_messages.size() && same < next_messages.size() &&
         previous_messages[same] == next_messages[same]) {
    share.shared_bytes += next_messages[same].size();
    ++same;
  }
  share.extends = same == previous_messages.size();
  return share;
}

}  // namespace drover::agent
