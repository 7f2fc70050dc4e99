#include <utility>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {

namespace scan {

// Shared by the JavaScript parsers; they live here because node owns the stack format.
std::string StripAnsi(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t j = i + 2;
      while (j < text.size() && ((text[j] >= '0' && text[j] <= '9') || text[j] == ';')) ++j;
      if (j < text.size() &&
          ((text[j] >= 'A' && text[j] <= 'Z') || (text[j] >= 'a' && text[j] <= 'z'))) {
        i = j;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::optional<Diagnostic> ParseJsFrame(std::string_view frame) {
  size_t start = frame.find_first_not_of(" \t");
  if (start == std::string_view::npos) return std::nullopt;
  frame.remove_prefix(start);
  if (frame.starts_with("at ")) frame.remove_prefix(3);
  if (frame.ends_with(")")) {
    size_t open = frame.rfind('(');
    if (open == std::string_view::npos) return std::nullopt;
    frame = frame.substr(open + 1, frame.size() - open - 2);
  }
  if (frame.starts_with("file://")) frame.remove_prefix(7);
  if (frame.starts_with("node:") || frame.starts_with("internal/") ||
      frame.find("node_modules/") != std::string_view::npos) {
    return std::nullopt;
  }
  return ParseLocation(frame, /*need_column=*/true);
}

}  // namespace scan

namespace {

constexpr std::string_view kCross = "\xE2\x9C\x96";     // ✖
constexpr std::string_view kTriangle = "\xE2\x96\xB6";  // ▶
constexpr std::string_view kRecap = "\xE2\x9C\x96 failing tests:";
constexpr size_t kMaxMessage = 300;

size_t Indent(std::string_view line) {
  size_t n = line.find_first_not_of(' ');
  return n == std::string_view::npos ? line.size() : n;
}

void AppendWords(std::string& message, std::string_view piece) {
  size_t start = piece.find_first_not_of(' ');
  if (start == std::string_view::npos || message.size() >= kMaxMessage) return;
  if (!message.empty()) message += ' ';
  message.append(piece.substr(start, kMaxMessage - message.size()));
}

// Enclosing suites by indentation; names the failing test "suite > test".
class NameStack {
 public:
  // Forgets suites at `indent` or deeper, which a line at `indent` has closed.
  void CloseAt(size_t indent) {
    while (!open_.empty() && open_.back().first >= indent) open_.pop_back();
  }
  void Open(size_t indent, std::string_view name) {
    CloseAt(indent);
    open_.emplace_back(indent, std::string(name));
  }
  std::string FullName(size_t indent, std::string_view leaf) {
    CloseAt(indent);
    std::string name;
    // Bounded so that deep nesting cannot make every failure copy the whole stack.
    for (const auto& [depth, suite] : open_) {
      if (name.size() > kMaxMessage) break;
      name += suite + " > ";
    }
    return name + std::string(leaf);
  }

 private:
  std::vector<std::pair<size_t, std::string>> open_;
};

// "not ok 3 - name # TODO" at any depth: the YAML block below it (indented two more) holds
// `location:`, `error:` (inline or `|-` block) and `stack:` frames. Suites that failed only
// because a subtest did say so in `failureType` and are skipped: the subtest is reported.
void ParseTap(const std::vector<std::string_view>& lines, Distilled& result) {
  NameStack suites;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t indent = Indent(line);
    std::string_view body = line.substr(indent);
    if (body.starts_with("# Subtest: ")) {
      suites.Open(indent, body.substr(11));
      continue;
    }
    if (!body.starts_with("not ok ") || !scan::ParseNumber(body.substr(7, 1))) continue;
    std::string_view name = body.substr(7);
    size_t dash = name.find(" - ");
    name = dash == std::string_view::npos ? std::string_view() : name.substr(dash + 3);
    if (name.find(" # TODO") != std::string_view::npos ||
        name.find(" # SKIP") != std::string_view::npos) {
      continue;
    }
    // The test's own "# Subtest:" sits at its indent, so only shallower suites name it.
    Diagnostic d;
    d.kind = DiagnosticKind::kTestFailure;
    d.test = suites.FullName(indent, name);
    std::optional<Diagnostic> location, frame;
    bool nested_only = false;
    std::string_view block_key;
    size_t key_indent = indent + 2;
    if (i + 1 < lines.size() && lines[i + 1].substr(Indent(lines[i + 1])) == "---") ++i;
    for (; i + 1 < lines.size(); ++i) {
      std::string_view next = lines[i + 1];
      size_t next_indent = Indent(next);
      std::string_view text = next.substr(next_indent);
      if (text == "..." || (next_indent < key_indent && !text.empty())) break;
      if (next_indent > key_indent || text.empty()) {
        if (block_key == "error") AppendWords(d.message, text);
        if (block_key == "stack" && !frame) frame = scan::ParseJsFrame(text);
        continue;
      }
      size_t colon = text.find(": ");
      std::string_view key = text.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? "" : text.substr(colon + 2);
      block_key = value == "|-" || value == "|" ? key : std::string_view();
      if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
        value = value.substr(1, value.size() - 2);
      }
      if (key == "location" || key == "at") location = scan::ParseJsFrame(value);
      if (key == "failureType" && value == "subtestsFailed") nested_only = true;
      if (key == "error" && block_key.empty()) AppendWords(d.message, value);
    }
    if (nested_only) continue;
    if (auto where = frame ? frame : location) {
      d.file = std::move(where->file);
      d.line = where->line;
      d.column = where->column;
    }
    result.diagnostics.push_back(std::move(d));
  }
}

// The spec reporter: "▶ suite" opens a suite, "✖ name (1.2ms)" closes a test; a failed test
// is followed by its error, indented deeper, and the "at" frames. A "✖" with nothing below it
// is a suite whose subtests failed. The "✖ failing tests:" recap repeats every failure.
void ParseSpec(const std::vector<std::string_view>& lines, Distilled& result) {
  NameStack suites;
  size_t first = result.diagnostics.size();
  bool in_recap = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t indent = Indent(line);
    std::string_view body = line.substr(indent);
    if (body == kRecap) {
      if (result.diagnostics.size() > first) return;
      in_recap = true;
      continue;
    }
    if (body.starts_with(kTriangle) && body.size() > kTriangle.size() && !in_recap) {
      suites.Open(indent, body.substr(kTriangle.size() + 1));
      continue;
    }
    if (!body.starts_with(kCross) || body.size() <= kCross.size() + 1) continue;
    // Every test line ends with its duration; eslint's "✖ 5 problems (4 errors)" does not.
    std::string_view name = body.substr(kCross.size() + 1);
    size_t paren = name.rfind(" (");
    if (paren == std::string_view::npos || !name.ends_with("ms)")) continue;
    name = name.substr(0, paren);
    Diagnostic d;
    d.kind = DiagnosticKind::kTestFailure;
    d.test = in_recap ? std::string(name) : suites.FullName(indent, name);
    bool in_frames = false;
    std::optional<Diagnostic> frame;
    bool has_body = false;
    for (; i + 1 < lines.size(); ++i) {
      std::string_view next = lines[i + 1];
      size_t next_indent = Indent(next);
      std::string_view text = next.substr(next_indent);
      if (!text.empty() && next_indent <= indent) break;
      if (text.empty()) continue;
      has_body = true;
      if (text.starts_with("at ")) {
        in_frames = true;
        if (!frame) frame = scan::ParseJsFrame(text);
      } else if (!in_frames) {
        AppendWords(d.message, text);
      }
    }
    if (!has_body) continue;
    if (frame) {
      d.file = std::move(frame->file);
      d.line = frame->line;
      d.column = frame->column;
    }
    result.diagnostics.push_back(std::move(d));
  }
}

}  // namespace

// node --test prints TAP when its output is not a terminal, the spec reporter otherwise or
// with --test-reporter=spec. Tests are named "suite > test"; the location is the first stack
// frame outside node itself (where the error was thrown), else the test's declaration.
std::optional<Distilled> ParseNode(std::string_view output) {
  std::string clean;
  if (output.find('\x1b') != std::string_view::npos) {
    clean = scan::StripAnsi(output);
    output = clean;
  }
  auto lines = scan::Lines(output);
  Distilled result;
  result.parser = "node";
  ParseTap(lines, result);
  ParseSpec(lines, result);
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
