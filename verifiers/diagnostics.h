// Diagnostics recognised in build and test output, and one parser per tool family.
// Parsers are pure functions over the raw text: linear time, no regex, safe on any bytes.
// Thread-safe: free functions over value types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::verifiers {

enum class DiagnosticKind { kCompileError, kCompileWarning, kTestFailure, kLintError, kOther };

struct Diagnostic {
  DiagnosticKind kind = DiagnosticKind::kOther;
  std::string file;  // As the tool printed it; empty when the tool names no file.
  int line = 0;      // 1-based; 0 when unknown.
  int column = 0;    // 1-based; 0 when unknown.
  std::string message;
  std::string test;  // Test name for test failures.
};

struct Distilled {
  std::vector<Diagnostic> diagnostics;
  std::string summary;  // One line, e.g. "2 compile errors, 1 warning".
  std::string parser;   // Parsers that recognised the output ("gcc+ctest"), or "fallback".
  std::string excerpt;  // Fallback only: error-looking lines and the tail of the output.
};

// "compile_error", "compile_warning", "test_failure", "lint_error", "other".
std::string_view DiagnosticKindName(DiagnosticKind kind);

// Each returns nullopt when the output holds nothing the family's tools print on failure.
std::optional<Distilled> ParseGcc(std::string_view output);     // gcc, clang, ld.
std::optional<Distilled> ParsePython(std::string_view output);  // pytest, unittest, tracebacks.
std::optional<Distilled> ParseCargo(std::string_view output);   // rustc, cargo test.
std::optional<Distilled> ParseJavac(std::string_view output);   // javac, Maven compiler.
std::optional<Distilled> ParseCtest(std::string_view output);   // CTest summary.
std::optional<Distilled> ParseGo(std::string_view output);      // go build, vet, test.
std::optional<Distilled> ParseTsc(std::string_view output);     // tsc, plain and --pretty.
std::optional<Distilled> ParseEslint(std::string_view output);  // eslint stylish, unix, compact.
std::optional<Distilled> ParseNode(std::string_view output);    // node --test TAP and spec.
std::optional<Distilled> ParseJest(std::string_view output);    // jest, vitest.
std::optional<Distilled> ParseGoTestJson(std::string_view output);   // go test -json events.
std::optional<Distilled> ParseSurefire(std::string_view output);     // Maven test summary.
std::optional<Distilled> ParseGradleTests(std::string_view output);  // "C > m FAILED" lines.
// JUnit XML reports (Surefire, Gradle TEST-*.xml), alone or embedded in other output: one
// test failure per <failure> or <error>, located at the test class's first stack frame.
std::optional<Distilled> ParseJunitXml(std::string_view xml);
// The failures of several report files' contents, in order; unreadable XML yields nothing.
std::vector<Diagnostic> ParseJunitReports(const std::vector<std::string>& xml_texts);

namespace scan {
// Lines of `text` without their '\n' (and '\r'), each cut to `max_len` bytes so that no
// later scan is quadratic on a pathological line.
std::vector<std::string_view> Lines(std::string_view text, size_t max_len = 4096);
// Digits only, at most 9 of them; nullopt otherwise.
std::optional<int> ParseNumber(std::string_view digits);
// Splits "file:line:col" or "file:line" (when `need_column` is false) from the right.
std::optional<Diagnostic> ParseLocation(std::string_view text, bool need_column);
// `text` without ANSI colour sequences (ESC '[' ... letter); JavaScript tools colour by default.
std::string StripAnsi(std::string_view text);
// A JavaScript stack frame, "at f (/a/b.js:3:7)" or "at /a/b.js:3:7" (the "at " optional),
// as file, line and column; nullopt for node internals and node_modules.
std::optional<Diagnostic> ParseJsFrame(std::string_view frame);
}  // namespace scan

}  // namespace drover::verifiers
