#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

constexpr std::string_view kBullet = "\xE2\x97\x8F ";   // "● " opens a jest failure.
constexpr std::string_view kPointer = "\xE2\x9D\xAF ";  // "❯ " marks a vitest frame.
constexpr std::string_view kRule = "\xE2\x8E\xAF";      // "⎯" separates vitest failures.
constexpr size_t kMaxMessage = 300;

std::string_view Trim(std::string_view line) {
  size_t start = line.find_first_not_of(' ');
  return start == std::string_view::npos ? std::string_view() : line.substr(start);
}

// Where one failure's block ends: the next failure, the next file, or the summary.
bool EndsBlock(std::string_view text) {
  return text.starts_with(kBullet) || text.starts_with("FAIL ") || text.starts_with("PASS ") ||
         text.starts_with(kRule) || text.starts_with("Test Suites:") ||
         text.starts_with("Test Files ") || text.starts_with("Summary of all failing tests");
}

// "> 12 |" in jest's code frame: the failing line of the file the frame shows.
std::optional<int> PointedLine(std::string_view text) {
  if (!text.starts_with('>')) return std::nullopt;
  text = Trim(text.substr(1));
  size_t bar = text.find(" |");
  return bar == std::string_view::npos ? std::nullopt : scan::ParseNumber(text.substr(0, bar));
}

bool IsCodeFrame(std::string_view text) {
  size_t bar = text.find('|');
  if (bar == std::string_view::npos) return false;
  std::string_view number = text.substr(0, bar);
  number = number.substr(0, number.find_last_not_of(' ') + 1);
  return number.empty() || number == ">" || scan::ParseNumber(number) ||
         PointedLine(text).has_value();
}

}  // namespace

// jest: "FAIL ./a.test.js" then one "  ● Suite › test" block per failure holding the message,
// a code frame and "at" frames; the first frame outside node_modules locates it (the throw
// site, as jest's own code frame does). vitest: "FAIL  a.test.js > suite > test", the
// message, then "❯ [fn] file:line:col" frames, already filtered to the project's files.
// Both print a summary ("Tests: 2 failed" / "Tests  2 failed"), which holds no location.
std::optional<Distilled> ParseJest(std::string_view output) {
  std::string clean;
  if (output.find('\x1b') != std::string_view::npos) {
    clean = scan::StripAnsi(output);
    output = clean;
  }
  auto lines = scan::Lines(output);
  Distilled result;
  result.parser = "jest";
  std::string_view suite_file;  // jest's "FAIL <file>", the fallback location.
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view text = Trim(lines[i]);
    if (text.starts_with("Summary of all failing tests") && !result.diagnostics.empty()) break;
    bool vitest = false;
    Diagnostic d;
    d.kind = DiagnosticKind::kTestFailure;
    if (text.starts_with("FAIL ")) {
      std::string_view rest = Trim(text.substr(5));
      size_t arrow = rest.find(" > ");
      size_t bracket = rest.find(" [ ");
      if (arrow == std::string_view::npos && bracket == std::string_view::npos) {
        suite_file = rest;
        continue;
      }
      // vitest; "FAIL  a.test.js [ a.test.js ]" is a file that failed to load.
      size_t cut = arrow != std::string_view::npos ? arrow : bracket;
      vitest = true;
      d.file = std::string(rest.substr(0, cut));
      d.test = std::string(arrow != std::string_view::npos ? rest.substr(arrow + 3) : d.file);
    } else if (text.starts_with(kBullet)) {
      std::string_view name = text.substr(kBullet.size());
      if (name == "Console") continue;
      d.test = std::string(name);
      d.file = std::string(suite_file);
    } else {
      continue;
    }
    std::optional<Diagnostic> frame;
    std::optional<int> pointed;
    bool message_done = false;
    for (; i + 1 < lines.size() && !EndsBlock(Trim(lines[i + 1])); ++i) {
      std::string_view next = Trim(lines[i + 1]);
      if (next.empty()) {
        if (vitest && !d.message.empty()) message_done = true;
        continue;
      }
      if (vitest && next.starts_with(kPointer)) {
        message_done = true;
        std::string_view where = next.substr(kPointer.size());
        if (!frame) frame = scan::ParseJsFrame(where.substr(where.rfind(' ') + 1));
        continue;
      }
      if (next.starts_with("at ")) {
        message_done = true;
        if (!frame) frame = scan::ParseJsFrame(next);
        continue;
      }
      if (!vitest && IsCodeFrame(next)) {
        message_done = true;
        if (!pointed) pointed = PointedLine(next);
        continue;
      }
      if (message_done || d.message.size() >= kMaxMessage) continue;
      if (!d.message.empty()) d.message += ' ';
      d.message.append(next.substr(0, kMaxMessage - d.message.size()));
    }
    if (frame) {
      d.file = std::move(frame->file);
      d.line = frame->line;
      d.column = frame->column;
    } else if (pointed) {
      d.line = *pointed;
    }
    result.diagnostics.push_back(std::move(d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
