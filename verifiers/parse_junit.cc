#include <algorithm>
#include <string>
#include <unordered_map>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

constexpr size_t kMaxMessage = 500;

// Appends `raw` to `out` with the five predefined XML entities and numeric ASCII
// references decoded; anything else is copied as is.
void AppendDecoded(std::string_view raw, std::string& out) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
  size_t i = 0;
  while (i < raw.size()) {
    size_t amp = raw.find('&', i);
    out.append(raw.substr(i, amp == std::string_view::npos ? raw.size() - i : amp - i));
    if (amp == std::string_view::npos) return;
    std::string_view rest = raw.substr(amp);
    size_t used = 0;
    for (const auto& [name, c] : kEntities) {
      if (rest.starts_with(name)) {
        out += c;
        used = name.size();
        break;
      }
    }
    if (used == 0 && rest.starts_with("&#")) {
      size_t semi = rest.find(';');
      bool hex = rest.size() > 2 && (rest[2] == 'x' || rest[2] == 'X');
      if (semi != std::string_view::npos && semi <= 10) {
        std::string_view digits = rest.substr(hex ? 3 : 2, semi - (hex ? 3 : 2));
        int value = 0;
        bool ok = !digits.empty();
        for (char c : digits) {
          int v = c >= '0' && c <= '9'                ? c - '0'
                  : hex && c >= 'a' && c <= 'f'       ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F'       ? c - 'A' + 10
                                                      : -1;
          if (v < 0) ok = false;
          value = value * (hex ? 16 : 10) + (v < 0 ? 0 : v);
        }
        if (ok && value > 0 && value < 128) {
          out += static_cast<char>(value);
          used = semi + 1;
        }
      }
    }
    if (used == 0) {
      out += '&';
      used = 1;
    }
    i = amp + used;
  }
}

// The decoded value of attribute `name` inside a start tag's attribute text.
std::string Attribute(std::string_view attrs, std::string_view name) {
  size_t i = 0;
  while (i < attrs.size()) {
    size_t eq = attrs.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= attrs.size()) break;
    char quote = attrs[eq + 1];
    if (quote != '"' && quote != '\'') break;
    size_t close = attrs.find(quote, eq + 2);
    if (close == std::string_view::npos) break;
    std::string_view key = attrs.substr(i, eq - i);
    while (!key.empty() && (key.front() == ' ' || key.front() == '\t' || key.front() == '\n' ||
                            key.front() == '\r')) {
      key.remove_prefix(1);
    }
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    if (key == name) {
      std::string value;
      AppendDecoded(attrs.substr(eq + 2, close - eq - 2), value);
      return value;
    }
    i = close + 1;
  }
  return {};
}

// "at com.x.FooTest.bar(FooTest.java:23)": the first frame inside the test's own class
// (nested and anonymous classes included) names the line in the test source.
void LocateInStack(std::string_view stack, std::string_view classname, Diagnostic& d) {
  if (classname.empty()) return;
  std::string needle = "at " + std::string(classname);
  for (size_t at = stack.find(needle); at != std::string_view::npos;
       at = stack.find(needle, at + needle.size())) {
    size_t after = at + needle.size();
    if (after >= stack.size() || (stack[after] != '.' && stack[after] != '$')) continue;
    size_t open = stack.find('(', after);
    size_t eol = stack.find('\n', after);
    if (open == std::string_view::npos || open > eol) continue;
    size_t close = stack.find(')', open);
    if (close == std::string_view::npos || close > eol) continue;
    auto where = scan::ParseLocation(stack.substr(open + 1, close - open - 1), false);
    if (!where) continue;
    d.file = where->file;
    d.line = where->line;
    return;
  }
}

std::string FirstLine(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  text.remove_prefix(start);
  return std::string(text.substr(0, std::min(text.find('\n'), kMaxMessage)));
}

}  // namespace

// A tolerant single pass over the markup: tags, comments, processing instructions and
// CDATA sections are recognised; a document cut short yields what was complete.
std::optional<Distilled> ParseJunitXml(std::string_view xml) {
  if (xml.find("<testcase") == std::string_view::npos) return std::nullopt;
  Distilled result;
  result.parser = "junit-xml";
  std::string classname, name;
  bool in_failure = false;
  std::string message, type, body;
  auto emit = [&] {
    Diagnostic d;
    d.kind = DiagnosticKind::kTestFailure;
    d.test = classname.empty() ? name : classname + "." + name;
    d.message = !message.empty() ? message.substr(0, kMaxMessage) : FirstLine(body);
    if (d.message.empty()) d.message = type;
    LocateInStack(body, classname, d);
    result.diagnostics.push_back(std::move(d));
  };
  size_t i = 0;
  while (i < xml.size()) {
    size_t lt = xml.find('<', i);
    if (lt == std::string_view::npos) break;
    if (in_failure && body.size() < 64 * 1024) AppendDecoded(xml.substr(i, lt - i), body);
    std::string_view rest = xml.substr(lt);
    if (rest.starts_with("<![CDATA[")) {
      size_t end = xml.find("]]>", lt + 9);
      size_t stop = end == std::string_view::npos ? xml.size() : end;
      if (in_failure && body.size() < 64 * 1024) body.append(xml.substr(lt + 9, stop - lt - 9));
      i = end == std::string_view::npos ? xml.size() : end + 3;
      continue;
    }
    if (rest.starts_with("<!--")) {
      size_t end = xml.find("-->", lt + 4);
      i = end == std::string_view::npos ? xml.size() : end + 3;
      continue;
    }
    size_t gt = xml.find('>', lt);
    if (gt == std::string_view::npos) break;
    std::string_view tag = xml.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (tag.empty() || tag.front() == '?' || tag.front() == '!') continue;
    bool closing = tag.front() == '/';
    if (closing) tag.remove_prefix(1);
    bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.remove_suffix(1);
    size_t name_end = tag.find_first_of(" \t\r\n");
    std::string_view tag_name = tag.substr(0, name_end);
    std::string_view attrs = name_end == std::string_view::npos ? "" : tag.substr(name_end);
    bool is_problem = tag_name == "failure" || tag_name == "error";
    if (closing) {
      if (is_problem && in_failure) {
        emit();
        in_failure = false;
      }
      continue;
    }
    if (tag_name == "testcase") {
      classname = Attribute(attrs, "classname");
      name = Attribute(attrs, "name");
      in_failure = false;
    } else if (is_problem) {
      message = Attribute(attrs, "message");
      type = Attribute(attrs, "type");
      body.clear();
      in_failure = !self_closing;
      if (self_closing) emit();
    }
  }
  if (in_failure) emit();
  return result;
}

std::vector<Diagnostic> ParseJunitReports(const std::vector<std::string>& xml_texts) {
  std::vector<Diagnostic> all;
  for (const std::string& xml : xml_texts) {
    auto parsed = ParseJunitXml(xml);
    if (!parsed) continue;
    for (auto& d : parsed->diagnostics) all.push_back(std::move(d));
  }
  return all;
}

// Surefire's console summary, which Maven prints after every failing run:
//   [ERROR] Failures:
//   [ERROR]   CalcTest.addsNegatives:16 sum of 1 and -1 expected:<2> but was:<0>
//   [ERROR] Errors:
//   [ERROR]   CalcTest.dividesByZero:21 » Arithmetic / by zero
// The file comes from a stack frame of the same method printed earlier, else the class.
std::optional<Distilled> ParseSurefire(std::string_view output) {
  Distilled result;
  result.parser = "surefire";
  bool seen_tests_run = false;
  bool in_section = false;
  std::unordered_map<std::string, std::string> frame_files;  // "Class.method" -> "Class.java"
  for (std::string_view raw : scan::Lines(output)) {
    if (raw.find("Tests run:") == std::string_view::npos &&
        raw.find("at ") == std::string_view::npos && raw.find("ERROR") == std::string_view::npos) {
      in_section = false;
      continue;
    }
    std::string clean = scan::StripAnsi(raw);
    std::string_view line = clean;
    if (line.find("Tests run:") != std::string_view::npos) {
      seen_tests_run = true;
      in_section = false;
      continue;
    }
    if (line.starts_with("\tat ")) {
      size_t open = line.find('(');
      size_t close = line.find(')', open == std::string_view::npos ? line.size() : open);
      if (open == std::string_view::npos || close == std::string_view::npos) continue;
      std::string_view method = line.substr(4, open - 4);
      size_t dot = method.rfind('.');
      if (dot == std::string_view::npos || dot == 0) continue;
      size_t dot2 = method.rfind('.', dot - 1);
      std::string key(method.substr(dot2 == std::string_view::npos ? 0 : dot2 + 1));
      auto where = scan::ParseLocation(line.substr(open + 1, close - open - 1), false);
      if (where) frame_files.emplace(std::move(key), where->file);
      continue;
    }
    if (!line.starts_with("[ERROR] ")) {
      in_section = false;
      continue;
    }
    line.remove_prefix(8);
    if (line == "Failures: " || line == "Failures:" || line == "Errors: " || line == "Errors:") {
      in_section = true;
      continue;
    }
    if (!in_section || !line.starts_with("  ") || line.starts_with("   ")) {
      in_section = in_section && line.starts_with("  ");
      continue;
    }
    line.remove_prefix(2);
    if (line.starts_with("Run ")) continue;  // Rerun attempts of a flaky test.
    size_t space = line.find(' ');
    std::string_view token = line.substr(0, space);
    std::string_view message = space == std::string_view::npos ? "" : line.substr(space + 1);
    if (message.starts_with("» ")) message.remove_prefix(std::string_view("» ").size());
    Diagnostic d;
    d.kind = DiagnosticKind::kTestFailure;
    size_t colon = token.rfind(':');
    if (colon != std::string_view::npos) {
      if (auto row = scan::ParseNumber(token.substr(colon + 1))) {
        d.line = *row;
        token = token.substr(0, colon);
      }
    }
    size_t dot = token.rfind('.');
    if (dot == std::string_view::npos || dot == 0) continue;
    d.test = std::string(token);
    if (auto it = frame_files.find(d.test); it != frame_files.end()) {
      d.file = it->second;
    } else if (d.line > 0) {
      std::string_view cls = token.substr(0, dot);
      d.file = std::string(cls.substr(0, cls.find('$'))) + ".java";
    }
    d.message = std::string(message.substr(0, kMaxMessage));
    result.diagnostics.push_back(std::move(d));
  }
  if (!seen_tests_run && result.diagnostics.empty()) return std::nullopt;
  return result;
}

// Gradle's console test report:
//   com.example.CalcTest > comparesStrings FAILED
//       org.junit.ComparisonFailure at CalcTest.java:26
std::optional<Distilled> ParseGradleTests(std::string_view output) {
  Distilled result;
  result.parser = "gradle";
  Diagnostic* last = nullptr;
  for (std::string_view line : scan::Lines(output)) {
    if (last != nullptr && line.starts_with("    ") && last->message.empty()) {
      std::string_view detail = line.substr(std::min(line.size(), line.find_first_not_of(' ')));
      size_t at = detail.rfind(" at ");
      if (at != std::string_view::npos) {
        if (auto where = scan::ParseLocation(detail.substr(at + 4), false)) {
          last->file = where->file;
          last->line = where->line;
          detail = detail.substr(0, at);
        }
      }
      last->message = std::string(detail.substr(0, kMaxMessage));
      continue;
    }
    last = nullptr;
    if (!line.ends_with(" FAILED") || line.starts_with(" ") || line.starts_with(">")) continue;
    size_t arrow = line.rfind(" > ");
    if (arrow == std::string_view::npos || arrow == 0) continue;
    std::string_view cls = line.substr(0, line.find(" > "));
    if (cls.find(' ') != std::string_view::npos) continue;
    std::string_view method = line.substr(arrow + 3, line.size() - 7 - (arrow + 3));
    if (method.empty()) continue;
    Diagnostic d;
    d.kind = DiagnosticKind::kTestFailure;
    d.test = std::string(cls) + "." + std::string(method);
    result.diagnostics.push_back(std::move(d));
    last = &result.diagnostics.back();
  }
  for (auto& d : result.diagnostics) {
    if (d.message.empty()) d.message = "FAILED";
  }
  if (result.diagnostics.empty()) return std::nullopt;
  return result;
}

}  // namespace drover::verifiers
