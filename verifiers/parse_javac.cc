#include <set>
#include <tuple>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// javac: "X.java:12: error: msg"; Gradle 4 glues the task name on the first one
// (":compileJava/p/X.java:12: error: msg"). Maven's compiler plugin: "[ERROR] /p/X.java:[12,5]
// msg", coloured with ANSI escapes even into pipes, and repeated under "Failed to execute goal".
std::optional<Distilled> ParseJavac(std::string_view output) {
  Distilled result;
  result.parser = "javac";
  std::set<std::tuple<std::string, int, int, std::string>> seen;
  auto add = [&](Diagnostic d) {
    if (!seen.emplace(d.file, d.line, d.column, d.message).second) return;
    result.diagnostics.push_back(std::move(d));
  };
  for (std::string_view raw : scan::Lines(output)) {
    if (raw.find(".java:") == std::string_view::npos) continue;
    std::string clean = scan::StripAnsi(raw);
    std::string_view line = clean;
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
      start = start == std::string_view::npos ? 0 : start + 1;
      if (!row || !col) continue;
      bool warning = line.find("WARNING") < java;
      Diagnostic d;
      d.kind = warning ? DiagnosticKind::kCompileWarning : DiagnosticKind::kCompileError;
      d.file = std::string(line.substr(start, java + 5 - start));
      d.line = *row;
      d.column = *col;
      d.message = std::string(after.substr(close + 2));
      add(std::move(d));
      continue;
    }
    size_t colon = after.find(": ");
    if (colon == std::string_view::npos) continue;
    auto row = scan::ParseNumber(after.substr(0, colon));
    std::string_view tail = after.substr(colon + 2);
    bool error = tail.starts_with("error: ");
    if (!row || !(error || tail.starts_with("warning: "))) continue;
    std::string_view file = line.substr(0, java + 5);
    if (file.starts_with(":")) {
      size_t slash = file.find('/');
      if (slash != std::string_view::npos && file.substr(0, slash).find(' ') == std::string_view::npos) {
        file.remove_prefix(slash);
      }
    }
    Diagnostic d;
    d.kind = error ? DiagnosticKind::kCompileError : DiagnosticKind::kCompileWarning;
    d.file = std::string(file);
    d.line = *row;
    d.message = std::string(tail.substr(error ? 7 : 9));
    add(std::move(d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
