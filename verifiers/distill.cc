#include "verifiers/distill.h"

#include <algorithm>
#include <array>

#include "verifiers/verifier.h"

namespace drover::verifiers {

std::string_view DiagnosticKindName(DiagnosticKind kind) {
  switch (kind) {
    case DiagnosticKind::kCompileError: return "compile_error";
    case DiagnosticKind::kCompileWarning: return "compile_warning";
    case DiagnosticKind::kTestFailure: return "test_failure";
    case DiagnosticKind::kLintError: return "lint_error";
    case DiagnosticKind::kOther: return "other";
  }
  return "other";
}

namespace scan {

std::vector<std::string_view> Lines(std::string_view text, size_t max_len) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line.substr(0, max_len));
    start = end + 1;
  }
  return lines;
}

std::optional<int> ParseNumber(std::string_view digits) {
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<Diagnostic> ParseLocation(std::string_view text, bool need_column) {
  Diagnostic d;
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto last = ParseNumber(text.substr(colon + 1));
  if (!last) return std::nullopt;
  std::string_view rest = text.substr(0, colon);
  size_t colon2 = rest.rfind(':');
  auto before = colon2 == std::string_view::npos ? std::nullopt
                                                 : ParseNumber(rest.substr(colon2 + 1));
  if (before) {
    d.line = *before;
    d.column = *last;
    rest = rest.substr(0, colon2);
  } else {
    if (need_column) return std::nullopt;
    d.line = *last;
  }
  if (rest.empty() || rest.find(' ') != std::string_view::npos) return std::nullopt;
  d.file = std::string(rest);
  return d;
}

}  // namespace scan

namespace {

std::string CountSummary(const std::vector<Diagnostic>& diagnostics) {
  std::array<size_t, 5> counts{};
  for (const auto& d : diagnostics) ++counts[static_cast<size_t>(d.kind)];
  static constexpr std::array<std::string_view, 5> kNouns = {
      "compile error", "warning", "test failure", "lint error", "other error"};
  std::string out;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(counts[i]) + " " + std::string(kNouns[i]) + (counts[i] > 1 ? "s" : "");
  }
  return out;
}

std::string RenderLine(const Diagnostic& d) {
  std::string out;
  if (d.kind == DiagnosticKind::kTestFailure) out += "FAIL " + d.test + ": ";
  if (!d.file.empty()) {
    out += d.file;
    if (d.line > 0) out += ":" + std::to_string(d.line);
    if (d.column > 0) out += ":" + std::to_string(d.column);
    out += ": ";
  }
  switch (d.kind) {
    case DiagnosticKind::kCompileError: out += "error: "; break;
    case DiagnosticKind::kCompileWarning: out += "warning: "; break;
    case DiagnosticKind::kLintError: out += "lint: "; break;
    case DiagnosticKind::kTestFailure:
    case DiagnosticKind::kOther: break;
  }
  constexpr size_t kMaxMessage = 300;
  out += d.message.size() > kMaxMessage ? d.message.substr(0, kMaxMessage) + "..." : d.message;
  return out + "\n";
}

}  // namespace

Distilled DistillOutput(std::string_view output) {
  using Parser = std::optional<Distilled> (*)(std::string_view);
  static constexpr Parser kParsers[] = {ParseGcc, ParsePython, ParseCargo, ParseJavac,
                                        ParseGo,  ParseCtest,  ParseTsc,   ParseEslint,
                                        ParseNode, ParseJest,  ParseGoTestJson, ParseSurefire,
                                        ParseGradleTests, ParseJunitXml};
  Distilled merged;
  for (Parser parse : kParsers) {
    auto found = parse(output);
    if (!found || found->diagnostics.empty()) continue;
    if (!merged.parser.empty()) merged.parser += "+";
    merged.parser += found->parser;
    for (auto& d : found->diagnostics) merged.diagnostics.push_back(std::move(d));
  }
  if (merged.diagnostics.empty()) {
    merged.parser = "fallback";
    merged.excerpt = Distill(output);
    return merged;
  }
  merged.summary = CountSummary(merged.diagnostics);
  return merged;
}

std::string Render(const Distilled& distilled, size_t budget_bytes) {
  if (distilled.diagnostics.empty()) {
    return distilled.excerpt.size() > budget_bytes
               ? distilled.excerpt.substr(distilled.excerpt.size() - budget_bytes)
               : distilled.excerpt;
  }
  std::string out = distilled.summary + " (" + distilled.parser + ")\n";
  // Errors and failures before warnings: a truncated report must still name what broke.
  std::vector<const Diagnostic*> order;
  for (const auto& d : distilled.diagnostics) order.push_back(&d);
  std::stable_sort(order.begin(), order.end(), [](const Diagnostic* a, const Diagnostic* b) {
    return (a->kind == DiagnosticKind::kCompileWarning) < (b->kind == DiagnosticKind::kCompileWarning);
  });
  for (size_t i = 0; i < order.size(); ++i) {
    std::string line = RenderLine(*order[i]);
    std::string more = "[... " + std::to_string(order.size() - i) + " more]\n";
    if (out.size() + line.size() + more.size() > budget_bytes) {
      out += more;
      break;
    }
    out += line;
  }
  return out.size() > budget_bytes ? out.substr(0, budget_bytes) : out;
}

}  // namespace drover::verifiers
