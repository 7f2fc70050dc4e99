#include "verifiers/test_evidence.h"

#include <algorithm>
#include <set>

#include "core/strings.h"
#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

constexpr size_t kMaxNames = 20000;  // Beyond this the names are not kept, counts still are.

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// The number written just before `word` in `line` ("3 passed" -> 3), from the first
// occurrence that has one; -1 when none does.
int CountBefore(std::string_view line, std::string_view word) {
  for (size_t at = line.find(word); at != std::string_view::npos; at = line.find(word, at + 1)) {
    size_t end = at;
    while (end > 0 && line[end - 1] == ' ') --end;
    size_t start = end;
    while (start > 0 && IsDigit(line[start - 1])) --start;
    if (start == end) continue;
    if (auto n = scan::ParseNumber(line.substr(start, end - start))) return *n;
  }
  return -1;
}

// The number written just after `prefix` at the start of `text` ("# tests 5"); -1 otherwise.
int CountAfter(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return -1;
  std::string_view rest = Trim(text.substr(prefix.size()));
  size_t end = 0;
  while (end < rest.size() && IsDigit(rest[end])) ++end;
  auto n = scan::ParseNumber(rest.substr(0, end));
  return n ? *n : -1;
}

int Positive(int n) {
  return n > 0 ? n : 0;
}

struct Reader {
  int ran = 0;
  std::set<std::string> names;
  std::set<std::string> formats;
  bool names_complete = true;
  bool counted_only = false;  // A runner printed a count without names.

  void Name(std::string_view name) {
    name = Trim(name);
    if (name.empty()) return;
    if (names.size() >= kMaxNames) {
      names_complete = false;
      return;
    }
    names.emplace(name);
  }
};

// Per-runner name lines and count lines. A runner's count is taken from its summary line;
// names from its per-test lines (verbose modes).
void ReadLines(std::string_view output, Reader& r) {
  std::string clean = scan::StripAnsi(output);
  int unittest_ran = 0, unittest_names = 0;
  int surefire_total = -1;
  int go_tests = 0, go_packages = 0;
  int tap_count = -1, tap_names = 0;
  std::vector<std::string_view> go_package_names;
  for (std::string_view raw : scan::Lines(clean)) {
    std::string_view line = Trim(raw);
    if (line.empty()) continue;
    // unittest: "Ran 3 tests in 0.001s", then "OK (skipped=1)" / "FAILED (failures=1)".
    if (line.starts_with("Ran ") && line.find(" test") != std::string_view::npos &&
        line.find(" in ") != std::string_view::npos) {
      int n = CountAfter(line, "Ran ");
      if (n >= 0) {
        unittest_ran += n;
        r.formats.insert("unittest");
      }
      continue;
    }
    if ((line.starts_with("OK") || line.starts_with("FAILED (")) && unittest_ran > 0) {
      if (size_t at = line.find("skipped="); at != std::string_view::npos) {
        int skipped = CountAfter(line.substr(at), "skipped=");
        unittest_ran -= std::min(Positive(skipped), unittest_ran);
      }
      continue;
    }
    // unittest -v: "test_total (tests.test_cart.CartTest.test_total) ... ok".
    if (size_t at = line.find(" ... ");
        at != std::string_view::npos && line.find(" (") < at && !line.starts_with("test ")) {
      std::string_view verdict = line.substr(at + 5);
      if (verdict.starts_with("ok") || verdict.starts_with("FAIL") ||
          verdict.starts_with("ERROR") || verdict.starts_with("expected failure") ||
          verdict.starts_with("unexpected success")) {
        r.Name(line.substr(0, at));
        ++unittest_names;
      }
      continue;
    }
    // cargo test: "test cart::tests::total ... ok", "test result: ok. 3 passed; 0 failed".
    if (line.starts_with("test result: ")) {
      r.ran += Positive(CountBefore(line, " passed")) + Positive(CountBefore(line, " failed"));
      r.formats.insert("cargo");
      continue;
    }
    if (line.starts_with("test ") && line.find(" ... ") != std::string_view::npos) {
      size_t at = line.find(" ... ");
      std::string_view verdict = line.substr(at + 5);
      if (verdict.starts_with("ok") || verdict.starts_with("FAILED"))
        r.Name(line.substr(5, at - 5));
      continue;
    }
    // pytest: "==== 3 passed, 1 failed, 2 skipped in 0.12s ====" (or without the rules),
    // "tests/test_cart.py::test_total PASSED [ 50%]" (-v), "PASSED tests/...::test" (-rA).
    if (line.find(" in ") != std::string_view::npos &&
        (CountBefore(line, " passed") >= 0 || CountBefore(line, " failed") >= 0 ||
         CountBefore(line, " error") >= 0) &&
        line.find("::") == std::string_view::npos && !line.starts_with("Tests")) {
      r.ran += Positive(CountBefore(line, " passed")) + Positive(CountBefore(line, " failed")) +
               Positive(CountBefore(line, " error")) + Positive(CountBefore(line, " xfailed")) +
               Positive(CountBefore(line, " xpassed"));
      r.formats.insert("pytest");
      continue;
    }
    if (line.find("::") != std::string_view::npos) {
      for (std::string_view verdict : {" PASSED", " FAILED", " ERROR", " XFAIL", " XPASS"}) {
        if (size_t at = line.find(verdict); at != std::string_view::npos) {
          r.Name(line.substr(0, at));
          break;
        }
      }
      for (std::string_view verdict : {"PASSED ", "FAILED ", "ERROR ", "XFAIL ", "XPASS "}) {
        if (line.starts_with(verdict)) {
          std::string_view rest = line.substr(verdict.size());
          r.Name(rest.substr(0, rest.find(" - ")));
          break;
        }
      }
      continue;
    }
    // go test -v: "--- PASS: TestTotal (0.00s)"; without -v, "ok  \texample.com/cart 0.01s".
    if (line.starts_with("--- PASS: ") || line.starts_with("--- FAIL: ")) {
      std::string_view rest = line.substr(10);
      r.Name(rest.substr(0, rest.find(" (")));
      ++go_tests;
      r.formats.insert("go");
      continue;
    }
    if ((line.starts_with("ok  ") || line.starts_with("ok\t") || line.starts_with("FAIL\t")) &&
        line.find("[no test files]") == std::string_view::npos) {
      std::string_view rest = Trim(line.substr(line.starts_with("ok") ? 2 : 4));
      std::string_view package = rest.substr(0, rest.find_first_of(" \t"));
      if (!package.empty() && package.find('/') != std::string_view::npos) {
        ++go_packages;
        go_package_names.push_back(package);
        r.formats.insert("go");
      }
      continue;
    }
    // jest: "Tests:       1 failed, 5 passed, 6 total"; vitest: "Tests  5 passed (5)".
    if (line.starts_with("Tests:") || line.starts_with("Tests  ")) {
      r.ran += Positive(CountBefore(line, " passed")) + Positive(CountBefore(line, " failed"));
      r.formats.insert("jest");
      r.counted_only = true;
      continue;
    }
    // node --test: TAP "# pass 4" / "# fail 1", spec reporter "ℹ pass 4"; "ok 1 - name".
    for (std::string_view prefix : {"# ", "\xE2\x84\xB9 "}) {
      if (!line.starts_with(prefix)) continue;
      std::string_view rest = line.substr(prefix.size());
      int pass = CountAfter(rest, "pass ");
      int fail = CountAfter(rest, "fail ");
      if (pass >= 0 || fail >= 0) {
        tap_count = Positive(tap_count) + Positive(pass) + Positive(fail);
        r.formats.insert("node");
      }
    }
    if ((line.starts_with("ok ") || line.starts_with("not ok ")) &&
        line.find(" - ") != std::string_view::npos &&
        line.find("# SKIP") == std::string_view::npos &&
        line.find("# skip") == std::string_view::npos) {
      std::string_view rest = line.substr(line.find(" - ") + 3);
      if (raw.find_first_not_of(' ') == 0) {  // Top-level TAP results only; subtests nest.
        r.Name(rest.substr(0, rest.find(" # ")));
        ++tap_names;
      }
      continue;
    }
    // ctest: "100% tests passed, 0 tests failed out of 12"; "1/12 Test  #1: name ....   Passed".
    if (line.find("tests failed out of ") != std::string_view::npos) {
      size_t at = line.find("out of ");
      int n = CountAfter(line.substr(at), "out of ");
      if (n >= 0) {
        r.ran += n;
        r.formats.insert("ctest");
      }
      continue;
    }
    if (size_t at = line.find("Test #"); at != std::string_view::npos) {
      std::string_view rest = line.substr(at);
      size_t colon = rest.find(": ");
      if (colon != std::string_view::npos && (rest.find("Passed") != std::string_view::npos ||
                                              rest.find("Failed") != std::string_view::npos ||
                                              rest.find("***") != std::string_view::npos)) {
        rest = rest.substr(colon + 2);
        r.Name(rest.substr(0, rest.find(" .")));
      }
      continue;
    }
    // Maven Surefire: per class "Tests run: 3, Failures: 0, ..., Time elapsed: ..." and the
    // module's total without the time; the last total counts.
    if (line.find("Tests run: ") != std::string_view::npos &&
        line.find("Time elapsed") == std::string_view::npos) {
      std::string_view rest = line.substr(line.find("Tests run: "));
      int run = CountAfter(rest, "Tests run: ");
      int skipped = -1;
      if (size_t at = rest.find("Skipped: "); at != std::string_view::npos) {
        skipped = CountAfter(rest.substr(at), "Skipped: ");
      }
      if (run >= 0) {
        surefire_total = Positive(surefire_total) + run - std::min(Positive(skipped), run);
        r.formats.insert("surefire");
      }
      continue;
    }
  }
  r.ran += unittest_ran;
  if (unittest_ran > unittest_names) r.counted_only = true;
  if (surefire_total >= 0) {
    r.ran += surefire_total;
    r.counted_only = true;
  }
  if (tap_count >= 0) {
    r.ran += tap_count;
    if (tap_names < tap_count) r.counted_only = true;
  } else if (tap_names > 0) {
    r.ran += tap_names;
    r.formats.insert("tap");
  }
  if (go_tests > 0) {
    r.ran += go_tests;
  } else if (go_packages > 0) {
    // Without -v go names packages only: each counts as one test.
    r.ran += go_packages;
    for (auto package : go_package_names) r.Name(package);
  }
}

// The value of attribute `name` in the tag that starts at `text` (up to its '>').
std::string_view Attribute(std::string_view tag, std::string_view name) {
  for (size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    if (at == 0 || (tag[at - 1] != ' ' && tag[at - 1] != '\t' && tag[at - 1] != '\n')) continue;
    size_t eq = at + name.size();
    if (eq + 1 >= tag.size() || tag[eq] != '=' || (tag[eq + 1] != '"' && tag[eq + 1] != '\''))
      continue;
    char quote = tag[eq + 1];
    size_t end = tag.find(quote, eq + 2);
    if (end == std::string_view::npos) return {};
    return tag.substr(eq + 2, end - eq - 2);
  }
  return {};
}

// JUnit XML: one test per <testcase> without a <skipped> child.
void ReadJunit(std::string_view xml, Reader& r) {
  bool any = false;
  for (size_t at = xml.find("<testcase"); at != std::string_view::npos;
       at = xml.find("<testcase", at + 9)) {
    size_t close = xml.find('>', at);
    if (close == std::string_view::npos) break;
    std::string_view tag = xml.substr(at, close - at);
    bool empty = close > 0 && xml[close - 1] == '/';
    size_t end = empty ? close : xml.find("</testcase>", close);
    if (end == std::string_view::npos) end = xml.size();
    std::string_view body = xml.substr(close, end - close);
    any = true;
    if (body.find("<skipped") != std::string_view::npos) continue;
    ++r.ran;
    std::string_view classname = Attribute(tag, "classname");
    std::string_view name = Attribute(tag, "name");
    r.Name(std::string(classname) + (classname.empty() ? "" : ".") + std::string(name));
  }
  if (any) r.formats.insert("junit_xml");
}

}  // namespace

std::optional<TestEvidence> ReadTestEvidence(std::string_view output,
                                             const std::vector<std::string>& junit_xml,
                                             bool output_complete) {
  Reader r;
  ReadLines(output, r);
  for (const auto& xml : junit_xml) ReadJunit(xml, r);
  if (r.formats.empty()) return std::nullopt;
  TestEvidence evidence;
  evidence.ran = r.ran;
  evidence.names.assign(r.names.begin(), r.names.end());
  evidence.names_complete = r.names_complete && output_complete && !r.counted_only;
  for (const auto& f : r.formats) evidence.formats += (evidence.formats.empty() ? "" : "+") + f;
  return evidence;
}

Json ToJson(const TestEvidence& evidence) {
  return Json{{"ran", evidence.ran},
              {"names", evidence.names},
              {"names_complete", evidence.names_complete},
              {"formats", evidence.formats}};
}

std::optional<TestEvidence> TestEvidenceFromJson(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  try {
    TestEvidence evidence;
    evidence.ran = json.at("ran").get<int>();
    evidence.names = json.value("names", std::vector<std::string>{});
    evidence.names_complete = json.value("names_complete", false);
    evidence.formats = json.value("formats", "");
    return evidence;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> EvidenceShortfall(const TestEvidence& before,
                                           const std::optional<TestEvidence>& after) {
  std::vector<std::string> reasons;
  if (!after) {
    reasons.push_back("the baseline ran " + DescribeEvidence(before) +
                      ", the final check none (no " + before.formats + " output)");
    return reasons;
  }
  if (after->ran < before.ran) {
    reasons.push_back("the baseline ran " + DescribeEvidence(before) + ", the final check " +
                      std::to_string(after->ran));
  }
  if (before.names_complete && after->names_complete && !before.names.empty()) {
    std::vector<std::string> missing;
    std::set_difference(before.names.begin(), before.names.end(), after->names.begin(),
                        after->names.end(), std::back_inserter(missing));
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 10; ++i) {
        list += (i == 0 ? "" : ", ") + missing[i];
      }
      if (missing.size() > 10) list += ", and " + std::to_string(missing.size() - 10) + " more";
      reasons.push_back(std::to_string(missing.size()) +
                        " test(s) the baseline ran did not run: " + list);
    }
  }
  return reasons;
}

std::string DescribeEvidence(const std::optional<TestEvidence>& evidence) {
  if (!evidence) return "no test output";
  return std::to_string(evidence->ran) + (evidence->ran == 1 ? " test" : " tests");
}

}  // namespace drover::verifiers
