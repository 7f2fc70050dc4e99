#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// gcc and clang print "file:line:col: error: message"; notes and "In function" context lines
// are not diagnostics of their own, nor is make's "*** [...] Error 1".
std::optional<Distilled> ParseGcc(std::string_view output) {
  static constexpr struct {
    std::string_view marker;
    DiagnosticKind kind;
  } kMarkers[] = {{": fatal error: ", DiagnosticKind::kCompileError},
                  {": error: ", DiagnosticKind::kCompileError},
                  {": warning: ", DiagnosticKind::kCompileWarning}};
  Distilled result;
  result.parser = "gcc";
  for (std::string_view line : scan::Lines(output)) {
    bool matched = false;
    for (const auto& m : kMarkers) {
      size_t at = line.find(m.marker);
      if (at == std::string_view::npos) continue;
      auto d = scan::ParseLocation(line.substr(0, at), /*need_column=*/true);
      if (!d) continue;
      d->kind = m.kind;
      d->message = std::string(line.substr(at + m.marker.size()));
      result.diagnostics.push_back(std::move(*d));
      matched = true;
      break;
    }
    if (matched) continue;
    // ld: "a.cc:(.text+0xa): undefined reference to `f'" or "a.cc:12: undefined reference".
    constexpr std::string_view kUndefined = "undefined reference to ";
    size_t at = line.find(kUndefined);
    if (at == std::string_view::npos) continue;
    std::string_view where = line.substr(0, at);
    if (where.starts_with("/usr/bin/ld: ")) where.remove_prefix(13);
    Diagnostic d;
    d.kind = DiagnosticKind::kCompileError;
    size_t colon = where.find(':');
    d.file = std::string(where.substr(0, colon));
    if (colon != std::string_view::npos) {
      std::string_view after = where.substr(colon + 1);
      size_t end = after.find(':');
      if (auto n = scan::ParseNumber(after.substr(0, end))) d.line = *n;
    }
    d.message = std::string(line.substr(at));
    result.diagnostics.push_back(std::move(d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
