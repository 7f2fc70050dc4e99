#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// CTest ends a red run with "The following tests FAILED:" and one "\t  2 - name (Failed)"
// line per test; the per-test output above it belongs to whatever the tests print.
std::optional<Distilled> ParseCtest(std::string_view output) {
  auto lines = scan::Lines(output);
  Distilled result;
  result.parser = "ctest";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != "The following tests FAILED:") continue;
    for (++i; i < lines.size(); ++i) {
      std::string_view l = lines[i];
      size_t dash = l.find(" - ");
      size_t first = l.find_first_not_of(" \t");
      if (dash == std::string_view::npos || first == std::string_view::npos || first >= dash ||
          !scan::ParseNumber(l.substr(first, dash - first))) {
        break;
      }
      std::string_view rest = l.substr(dash + 3);
      size_t paren = rest.rfind(" (");
      Diagnostic d;
      d.kind = DiagnosticKind::kTestFailure;
      d.test = std::string(rest.substr(0, paren));
      if (paren != std::string_view::npos && rest.ends_with(")")) {
        d.message = std::string(rest.substr(paren + 2, rest.size() - paren - 3));
      }
      result.diagnostics.push_back(std::move(d));
    }
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
