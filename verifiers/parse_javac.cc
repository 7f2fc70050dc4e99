#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// javac: "X.java:12: error: msg". Maven's compiler plugin: "[ERROR] /p/X.java:[12,5] msg",
// possibly coloured with ANSI escapes.
std::optional<Distilled> ParseJavac(std::string_view output) {
  Distilled result;
  result.parser = "javac";
  for (std::string_view line : scan::Lines(output)) {
    size_t java = line.find(".java:");
    if (java == std::string_view::npos) continue;
    std::string_view after = line.substr(java + 6);
    if (!after.empty() && after.front() == '[') {
      size_t close = after.find("] ");
      size_t comma = after.find(',');
      if (close == std::string_view::npos || comma == std::string_view::npos || comma > close) {
        continue;
      }
      auto row = scan::ParseNumber(after.substr(1, comma - 1));
      auto col = scan::ParseNumber(after.substr(comma + 1, close - comma - 1));
      size_t start = line.rfind(' ', java);
      if (!row || !col) continue;
      bool warning = line.find("WARNING") < java;
      Diagnostic d;
      d.kind = warning ? DiagnosticKind::kCompileWarning : DiagnosticKind::kCompileError;
      d.file = std::string(line.substr(start == std::string_view::npos ? 0 : start + 1,
                                       java + 5 - (start == std::string_view::npos ? 0 : start + 1)));
      d.line = *row;
      d.column = *col;
      d.message = std::string(after.substr(close + 2));
      result.diagnostics.push_back(std::move(d));
      continue;
    }
    size_t colon = after.find(": ");
    if (colon == std::string_view::npos) continue;
    auto row = scan::ParseNumber(after.substr(0, colon));
    std::string_view tail = after.substr(colon + 2);
    bool error = tail.starts_with("error: ");
    if (!row || !(error || tail.starts_with("warning: "))) continue;
    Diagnostic d;
    d.kind = error ? DiagnosticKind::kCompileError : DiagnosticKind::kCompileWarning;
    d.file = std::string(line.substr(0, java + 5));
    d.line = *row;
    d.message = std::string(tail.substr(error ? 7 : 9));
    result.diagnostics.push_back(std::move(d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
