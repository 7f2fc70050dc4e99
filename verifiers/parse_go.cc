#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// go build/vet: "./x.go:3:5: msg". go test: "--- FAIL: TestX (0.00s)" followed by indented
// "x_test.go:12: msg" lines, one per t.Error/t.Fatal call. Under -v those lines come first,
// after "=== RUN   TestX", and count only once "--- FAIL: TestX" confirms them: passing tests
// print t.Log lines of the same shape.
std::optional<Distilled> ParseGo(std::string_view output) {
  Distilled result;
  result.parser = "go";
  std::string current_test;
  std::string running_test;
  std::unordered_map<std::string, std::vector<Diagnostic>> pending;
  for (std::string_view line : scan::Lines(output)) {
    if (line.starts_with("{\"")) continue;  // go test -json: see ParseGoTestJson.
    // go vet reports type errors of packages it cannot analyse as "vet: ./x.go:3:5: msg".
    if (line.starts_with("vet: ")) line.remove_prefix(5);
    if (line.find("--- FAIL: ") != std::string_view::npos) {
      std::string_view name = line.substr(line.find("--- FAIL: ") + 10);
      current_test = std::string(name.substr(0, name.find(' ')));
      if (auto it = pending.find(current_test); it != pending.end()) {
        for (Diagnostic& d : it->second) result.diagnostics.push_back(std::move(d));
        pending.erase(it);
      }
      continue;
    }
    if (line.starts_with("=== RUN ") || line.starts_with("=== CONT ")) {
      std::string_view name = line.substr(line.find(' ', 4));
      name.remove_prefix(std::min(name.size(), name.find_first_not_of(' ')));
      running_test = std::string(name.substr(0, name.find(' ')));
    }
    if (line.find("--- PASS: ") != std::string_view::npos ||
        line.find("--- SKIP: ") != std::string_view::npos) {
      std::string_view name = line.substr(line.find("--- ") + 10);
      pending.erase(std::string(name.substr(0, name.find(' '))));
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
    if (indented && current_test.empty() && running_test.empty()) continue;
    d->kind = indented ? DiagnosticKind::kTestFailure : DiagnosticKind::kCompileError;
    d->message = std::string(line.substr(end + 2));
    if (indented && current_test.empty()) {
      d->test = running_test;
      pending[running_test].push_back(std::move(*d));
      continue;
    }
    if (indented) d->test = current_test;
    result.diagnostics.push_back(std::move(*d));
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

namespace {

// The decoded string value of `"key":"..."` in one go test -json event, or empty.
std::string JsonField(std::string_view event, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":\"";
  size_t at = event.find(needle);
  if (at == std::string_view::npos) return {};
  std::string out;
  for (size_t i = at + needle.size(); i < event.size(); ++i) {
    char c = event[i];
    if (c == '"') break;
    if (c != '\\' || i + 1 >= event.size()) {
      out += c;
      continue;
    }
    char e = event[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': break;
      case 'u': {
        // Go escapes '<', '>', '&' and control bytes this way; keep ASCII, drop the rest.
        auto code = i + 4 < event.size() ? event.substr(i + 1, 4) : std::string_view();
        int value = 0;
        for (char h : code) {
          value = value * 16 + (h >= '0' && h <= '9'   ? h - '0'
                                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                       : 0);
        }
        if (value > 0 && value < 128) out += static_cast<char>(value);
        i += code.size();
        break;
      }
      default: out += e; break;
    }
  }
  return out;
}

}  // namespace

// go test -json: one event per line. "output" events carry the test's own lines
// ("    x_test.go:12: msg"); they become failures once the test's "fail" event arrives. A
// failing test with no such line (a panic) is reported once, unless a subtest already was.
std::optional<Distilled> ParseGoTestJson(std::string_view output) {
  Distilled result;
  result.parser = "go-test-json";
  struct Pending {
    std::vector<Diagnostic> lines;
    std::string panic;
    std::string frame_file;
    int frame_line = 0;
  };
  std::unordered_map<std::string, Pending> pending;  // Key: package + '\n' + test.
  std::unordered_set<std::string> failed_children;
  bool seen_event = false;
  for (std::string_view line : scan::Lines(output, 64 * 1024)) {
    if (!line.starts_with("{\"") || line.find("\"Action\":\"") == std::string_view::npos) continue;
    seen_event = true;
    std::string test = JsonField(line, "Test");
    if (test.empty()) continue;
    std::string action = JsonField(line, "Action");
    std::string key = JsonField(line, "Package") + "\n" + test;
    if (action == "output") {
      std::string text = JsonField(line, "Output");
      if (!text.empty() && text.back() == '\n') text.pop_back();
      Pending& p = pending[key];
      if (text.starts_with("panic: ") && p.panic.empty()) {
        p.panic = text.substr(0, 300);
        continue;
      }
      if (text.starts_with("\t") && p.frame_line == 0) {
        // "\t/abs/x_test.go:7 +0x2e" under a panic.
        std::string_view frame = std::string_view(text).substr(1);
        frame = frame.substr(0, frame.find(' '));
        if (auto where = scan::ParseLocation(frame, false);
            where && where->file.ends_with("_test.go")) {
          p.frame_file = where->file;
          p.frame_line = where->line;
        }
        continue;
      }
      std::string_view body = text;
      if (!body.starts_with("    ") || body.starts_with("    --- ")) continue;
      body.remove_prefix(std::min(body.size(), body.find_first_not_of(' ')));
      size_t go = body.find(".go:");
      size_t end = go == std::string_view::npos ? go : body.find(": ", go + 3);
      if (end == std::string_view::npos) continue;
      auto d = scan::ParseLocation(body.substr(0, end), false);
      if (!d || !d->file.ends_with(".go") || p.lines.size() >= 50) continue;
      d->kind = DiagnosticKind::kTestFailure;
      d->test = test;
      d->message = std::string(body.substr(end + 2, 300));
      p.lines.push_back(std::move(*d));
    } else if (action == "fail") {
      auto it = pending.find(key);
      bool reported = false;
      if (it != pending.end()) {
        for (auto& d : it->second.lines) result.diagnostics.push_back(std::move(d));
        reported = !it->second.lines.empty();
      }
      if (!reported && !failed_children.contains(key)) {
        Diagnostic d;
        d.kind = DiagnosticKind::kTestFailure;
        d.test = test;
        if (it != pending.end()) {
          d.message = it->second.panic;
          d.file = it->second.frame_file;
          d.line = it->second.frame_line;
        }
        if (d.message.empty()) d.message = "failed";
        result.diagnostics.push_back(std::move(d));
      }
      size_t newline = key.find('\n');
      for (size_t slash = key.rfind('/'); slash != std::string::npos && slash > newline;
           slash = key.rfind('/', slash - 1)) {
        failed_children.insert(key.substr(0, slash));
      }
      if (it != pending.end()) pending.erase(it);
    } else if (action == "pass" || action == "skip") {
      pending.erase(key);
    }
  }
  if (!seen_event && result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
