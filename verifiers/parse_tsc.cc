#include <algorithm>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// tsc prints "src/a.ts(12,5): error TS2322: msg", or with --pretty (the default on a
// terminal) "src/a.ts:12:5 - error TS2322: msg" in colour, followed by a code frame.
// Errors about the project itself carry no file: "error TS5023: Unknown compiler option".
// Indented lines right below an error continue its message chain; related locations
// ("'x' is declared here") come after a blank line and are not errors of their own.
std::optional<Distilled> ParseTsc(std::string_view output) {
  std::string clean;
  if (output.find('\x1b') != std::string_view::npos) {
    clean = scan::StripAnsi(output);
    output = clean;
  }
  auto lines = scan::Lines(output);
  Distilled result;
  result.parser = "tsc";
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t code = line.find("error TS");
    if (code == std::string_view::npos) continue;
    size_t colon = line.find(": ", code);
    if (colon == std::string_view::npos ||
        !scan::ParseNumber(line.substr(code + 8, colon - code - 8))) {
      continue;
    }
    std::optional<Diagnostic> d;
    std::string_view where = line.substr(0, code);
    if (where.empty()) {
      d = Diagnostic{};
    } else if (where.ends_with("): ")) {
      where.remove_suffix(3);
      size_t open = where.rfind('(');
      size_t comma = where.rfind(',');
      if (open == std::string_view::npos || comma == std::string_view::npos || comma < open) {
        continue;
      }
      auto row = scan::ParseNumber(where.substr(open + 1, comma - open - 1));
      auto col = scan::ParseNumber(where.substr(comma + 1));
      if (!row || !col || open == 0) continue;
      d = Diagnostic{};
      d->file = std::string(where.substr(0, open));
      d->line = *row;
      d->column = *col;
    } else if (where.ends_with(" - ")) {
      d = scan::ParseLocation(where.substr(0, where.size() - 3), /*need_column=*/true);
    }
    if (!d || (!d->file.empty() && (d->file.front() == ' ' || d->file.front() == '\t'))) continue;
    d->kind = DiagnosticKind::kCompileError;
    d->message = std::string(line.substr(code + 6));
    for (; i + 1 < lines.size() && lines[i + 1].starts_with("  ") && d->message.size() < 300; ++i) {
      std::string_view more = lines[i + 1];
      d->message +=
          " " + std::string(more.substr(std::min(more.size(), more.find_first_not_of(' '))));
    }
    result.diagnostics.push_back(std::move(*d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
