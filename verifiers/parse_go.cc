#include <algorithm>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// go build/vet: "./x.go:3:5: msg". go test: "--- FAIL: TestX (0.00s)" followed by indented
// "x_test.go:12: msg" lines, one per t.Error/t.Fatal call.
std::optional<Distilled> ParseGo(std::string_view output) {
  Distilled result;
  result.parser = "go";
  std::string current_test;
  for (std::string_view line : scan::Lines(output)) {
    if (line.find("--- FAIL: ") != std::string_view::npos) {
      std::string_view name = line.substr(line.find("--- FAIL: ") + 10);
      current_test = std::string(name.substr(0, name.find(' ')));
      continue;
    }
    if (line.starts_with("--- ") || line.starts_with("=== ") || line.starts_with("ok ")) {
      current_test.clear();
      continue;
    }
    size_t go = line.find(".go:");
    if (go == std::string_view::npos) continue;
    size_t end = line.find(": ", go + 3);
    if (end == std::string_view::npos) continue;
    bool indented = line.starts_with(" ") || line.starts_with("\t");
    std::string_view where = line.substr(0, end);
    where.remove_prefix(std::min(where.size(), where.find_first_not_of(" \t")));
    auto d = scan::ParseLocation(where, /*need_column=*/!indented);
    if (!d || !d->file.ends_with(".go")) continue;
    if (indented && current_test.empty()) continue;
    d->kind = indented ? DiagnosticKind::kTestFailure : DiagnosticKind::kCompileError;
    if (indented) d->test = current_test;
    d->message = std::string(line.substr(end + 2));
    result.diagnostics.push_back(std::move(*d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
