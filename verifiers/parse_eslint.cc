#include <algorithm>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

enum class Severity { kNone, kError, kWarning };

// "  12:5  error  'x' is not defined  no-undef" below a file line (stylish, the default).
std::optional<Diagnostic> ParseStylish(std::string_view line, Severity& severity) {
  size_t start = line.find_first_not_of(' ');
  if (start == 0 || start == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(start);
  size_t gap = rest.find("  ");
  if (gap == std::string_view::npos) return std::nullopt;
  std::string_view where = rest.substr(0, gap);
  size_t colon = where.find(':');
  auto row = scan::ParseNumber(where.substr(0, colon));
  auto col =
      colon == std::string_view::npos ? std::nullopt : scan::ParseNumber(where.substr(colon + 1));
  if (!row || !col) return std::nullopt;
  rest = rest.substr(std::min(rest.size(), rest.find_first_not_of(' ', gap)));
  if (rest.starts_with("error  ")) {
    severity = Severity::kError;
  } else if (rest.starts_with("warning  ")) {
    severity = Severity::kWarning;
  } else {
    return std::nullopt;
  }
  rest = rest.substr(std::min(rest.size(), rest.find_first_not_of(' ', rest.find(' '))));
  Diagnostic d;
  d.line = *row;
  d.column = *col;
  // The rule id is the last column; parse errors have none.
  size_t rule_gap = rest.rfind("  ");
  std::string_view rule = rule_gap == std::string_view::npos ? "" : rest.substr(rule_gap + 2);
  if (!rule.empty() && rule.find(' ') == std::string_view::npos) {
    std::string_view message = rest.substr(0, rule_gap);
    message = message.substr(0, message.find_last_not_of(' ') + 1);
    d.message = std::string(message) + " (" + std::string(rule) + ")";
  } else {
    d.message = std::string(rest);
  }
  return d;
}

// unix: "/a/b.js:12:5: 'x' is not defined. [Error/no-undef]".
std::optional<Diagnostic> ParseUnix(std::string_view line, Severity& severity) {
  if (!line.ends_with("]")) return std::nullopt;
  size_t tag = line.rfind(" [");
  if (tag == std::string_view::npos) return std::nullopt;
  std::string_view label = line.substr(tag + 2, line.size() - tag - 3);
  if (label.starts_with("Error")) {
    severity = Severity::kError;
  } else if (label.starts_with("Warning")) {
    severity = Severity::kWarning;
  } else {
    return std::nullopt;
  }
  size_t colon = line.find(": ");
  if (colon == std::string_view::npos || colon > tag) return std::nullopt;
  auto d = scan::ParseLocation(line.substr(0, colon), /*need_column=*/true);
  if (!d) return std::nullopt;
  std::string_view rule =
      label.substr(label.find('/') == std::string_view::npos ? label.size() : label.find('/') + 1);
  d->message = std::string(line.substr(colon + 2, tag - colon - 2));
  if (!rule.empty()) d->message += " (" + std::string(rule) + ")";
  return d;
}

// compact: "/a/b.js: line 12, col 5, Error - 'x' is not defined. (no-undef)".
std::optional<Diagnostic> ParseCompact(std::string_view line, Severity& severity) {
  size_t at = line.find(": line ");
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string_view rest = line.substr(at + 7);
  size_t comma = rest.find(", col ");
  if (comma == std::string_view::npos) return std::nullopt;
  auto row = scan::ParseNumber(rest.substr(0, comma));
  rest = rest.substr(comma + 6);
  size_t comma2 = rest.find(", ");
  if (comma2 == std::string_view::npos) return std::nullopt;
  auto col = scan::ParseNumber(rest.substr(0, comma2));
  rest = rest.substr(comma2 + 2);
  if (!row || !col) return std::nullopt;
  if (rest.starts_with("Error - ")) {
    severity = Severity::kError;
  } else if (rest.starts_with("Warning - ")) {
    severity = Severity::kWarning;
  } else {
    return std::nullopt;
  }
  Diagnostic d;
  d.file = std::string(line.substr(0, at));
  d.line = *row;
  d.column = *col;
  d.message = std::string(rest.substr(rest.find(" - ") + 3));
  return d;
}

}  // namespace

// ESLint's stylish (default), unix and compact formatters. Errors become lint errors.
// Warnings do not fail a run, so they are dropped unless --max-warnings made them fail it
// ("ESLint found too many warnings"); then they are kept, as warnings.
std::optional<Distilled> ParseEslint(std::string_view output) {
  std::string clean;
  if (output.find('\x1b') != std::string_view::npos) {
    clean = scan::StripAnsi(output);
    output = clean;
  }
  Distilled result;
  result.parser = "eslint";
  std::vector<Diagnostic> warnings;
  bool warnings_fail = false;
  std::string_view file;  // Stylish names the file once, above its problems.
  for (std::string_view line : scan::Lines(output)) {
    if (line.starts_with("ESLint found too many warnings")) warnings_fail = true;
    Severity severity = Severity::kNone;
    std::optional<Diagnostic> d;
    if (!line.empty() && line.front() != ' ') {
      d = ParseUnix(line, severity);
      if (!d) d = ParseCompact(line, severity);
      if (!d) {
        file = line;
        continue;
      }
    } else if (!file.empty()) {
      d = ParseStylish(line, severity);
      if (d) d->file = std::string(file);
    }
    if (!d) continue;
    d->kind =
        severity == Severity::kError ? DiagnosticKind::kLintError : DiagnosticKind::kCompileWarning;
    (severity == Severity::kError ? result.diagnostics : warnings).push_back(std::move(*d));
  }
  if (warnings_fail) {
    for (auto& w : warnings) result.diagnostics.push_back(std::move(w));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
