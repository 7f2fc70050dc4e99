#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// rustc puts the message on "error[E0425]: ..." and the location on the next " --> " line;
// cargo test prints "thread 'name' (id) panicked at src/x.rs:3:5:" then the message (older
// toolchains: "panicked at 'message', src/x.rs:3:5").
std::optional<Distilled> ParseCargo(std::string_view output) {
  auto lines = scan::Lines(output);
  Distilled result;
  result.parser = "cargo";
  std::string current_test;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.starts_with("---- ") && line.ends_with(" stdout ----")) {
      current_test = std::string(line.substr(5, line.size() - 5 - 12));
      continue;
    }
    bool is_error = line.starts_with("error");
    if (is_error || line.starts_with("warning")) {
      size_t colon = line.find(": ");
      if (colon == std::string_view::npos || i + 1 >= lines.size()) continue;
      std::string_view next = lines[i + 1];
      size_t arrow = next.find("--> ");
      if (arrow == std::string_view::npos || next.find_first_not_of(' ') != arrow) continue;
      auto d = scan::ParseLocation(next.substr(arrow + 4), /*need_column=*/true);
      if (!d) continue;
      d->kind = is_error ? DiagnosticKind::kCompileError : DiagnosticKind::kCompileWarning;
      d->message = std::string(line.substr(colon + 2));
      result.diagnostics.push_back(std::move(*d));
      continue;
    }
    constexpr std::string_view kPanicked = " panicked at ";
    size_t at = line.find(kPanicked);
    if (!line.starts_with("thread '") || at == std::string_view::npos) continue;
    std::string_view rest = line.substr(at + kPanicked.size());
    std::optional<Diagnostic> d;
    std::string message;
    if (rest.ends_with(":")) {
      d = scan::ParseLocation(rest.substr(0, rest.size() - 1), /*need_column=*/true);
      if (i + 1 < lines.size()) message = std::string(lines[i + 1]);
    } else if (size_t comma = rest.rfind(", "); comma != std::string_view::npos) {
      d = scan::ParseLocation(rest.substr(comma + 2), /*need_column=*/true);
      message = std::string(rest.substr(0, comma));
    }
    if (!d) continue;
    d->kind = DiagnosticKind::kTestFailure;
    d->message = std::move(message);
    std::string_view thread = line.substr(8);
    thread = thread.substr(0, thread.find('\''));
    d->test = current_test.empty() ? std::string(thread) : current_test;
    result.diagnostics.push_back(std::move(*d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
