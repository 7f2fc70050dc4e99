#include <map>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

// `  File "x.py", line 8, in test_add` -> file and line; nullopt for other lines.
std::optional<Diagnostic> ParseFrame(std::string_view line) {
  constexpr std::string_view kFile = "File \"";
  size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos || line.substr(start, kFile.size()) != kFile) {
    return std::nullopt;
  }
  std::string_view rest = line.substr(start + kFile.size());
  size_t quote = rest.find("\", line ");
  if (quote == std::string_view::npos) return std::nullopt;
  std::string_view number = rest.substr(quote + 8);
  number = number.substr(0, number.find(','));
  auto n = scan::ParseNumber(number);
  if (!n) return std::nullopt;
  Diagnostic d;
  d.file = std::string(rest.substr(0, quote));
  d.line = *n;
  return d;
}

bool IsRule(std::string_view line) {
  return line.size() >= 20 && (line.starts_with("=====") || line.starts_with("-----"));
}

// pytest: each "____ test_x ____" section ends its traceback with "path.py:7: ErrorName";
// the short summary then names each failure: "FAILED path.py::test_x - message".
std::vector<Diagnostic> ParsePytest(const std::vector<std::string_view>& lines) {
  // Last "file:line: Error" of each section, by "test\nfile": the summary's file is the
  // test's own, so a frame inside a library does not hide the test's line.
  std::map<std::string, int> located;
  std::string section;
  std::vector<Diagnostic> found;
  for (std::string_view line : lines) {
    if (line.size() > 4 && line.starts_with("__") && line.ends_with("__")) {
      size_t start = line.find_first_not_of("_ ");
      if (start == std::string_view::npos) continue;
      std::string_view name = line.substr(start);
      name = name.substr(0, name.find(' '));
      section = std::string(name.substr(name.rfind('.') + 1));
      continue;
    }
    bool failed = line.starts_with("FAILED ");
    if (failed || line.starts_with("ERROR ")) {
      std::string_view rest = line.substr(failed ? 7 : 6);
      size_t dash = rest.find(" - ");
      std::string_view id = rest.substr(0, dash);
      // unittest's closing "FAILED (failures=1)" is not a pytest node id.
      if (id.find("::") == std::string_view::npos && !id.ends_with(".py")) continue;
      Diagnostic d;
      d.kind = DiagnosticKind::kTestFailure;
      size_t sep = id.find("::");
      d.file = std::string(id.substr(0, sep));
      if (sep != std::string_view::npos) d.test = std::string(id.substr(id.rfind("::") + 2));
      if (dash != std::string_view::npos) d.message = std::string(rest.substr(dash + 3));
      if (auto it = located.find(d.test + "\n" + d.file); it != located.end()) {
        d.line = it->second;
      }
      found.push_back(std::move(d));
      continue;
    }
    if (section.empty()) continue;
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos ||
        line.find(' ', colon + 2) != std::string_view::npos) {
      continue;
    }
    if (auto where = scan::ParseLocation(line.substr(0, colon), /*need_column=*/false)) {
      located[section + "\n" + where->file] = where->line;
    }
  }
  return found;
}

}  // namespace

// unittest prints one "FAIL: test (module.Class.test)" / "ERROR: ..." block per failure with
// a traceback whose last frame and last line locate it; bare tracebacks are crashed scripts.
std::optional<Distilled> ParsePython(std::string_view output) {
  auto lines = scan::Lines(output);
  Distilled result;
  result.parser = "python";
  result.diagnostics = ParsePytest(lines);
  if (!result.diagnostics.empty()) return result;
  bool saw_unittest_block = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    bool is_block = line.starts_with("FAIL: ") || line.starts_with("ERROR: ");
    bool is_traceback = line == "Traceback (most recent call last):";
    if (!is_block && !(is_traceback && !saw_unittest_block)) continue;
    Diagnostic d;
    if (is_block) {
      saw_unittest_block = true;
      d.kind = DiagnosticKind::kTestFailure;
      std::string_view name = line.substr(line.find(' ') + 1);
      d.test = std::string(name.substr(0, name.find(' ')));
      ++i;
      if (i < lines.size() && IsRule(lines[i])) ++i;
    } else {
      d.kind = DiagnosticKind::kOther;
      ++i;
    }
    // The block ends at the next rule (unittest) or at the first unindented line after the
    // frames (a bare traceback: that line is the exception).
    for (; i < lines.size() && !IsRule(lines[i]); ++i) {
      std::string_view l = lines[i];
      if (auto frame = ParseFrame(l)) {
        d.file = std::move(frame->file);
        d.line = frame->line;
        continue;
      }
      if (l.empty() || l.front() == ' ' || l.starts_with("Traceback")) continue;
      d.message = std::string(l);
      if (!is_block) break;
    }
    if (is_block && i < lines.size()) --i;  // Let the outer loop see the next block's rule.
    if (d.message.empty() && d.file.empty()) continue;
    result.diagnostics.push_back(std::move(d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
