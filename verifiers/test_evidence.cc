#include "verifiers/test_evidence.h"

#include <regex>

#include "verifiers/verifier.h"

namespace drover::verifiers {
namespace {

// One summary form: a cheap marker that must be in the line, the pattern, and the groups
// whose numbers add up to the tests that ran.
struct SummaryForm {
  std::string_view marker;
  std::regex pattern;
  std::vector<int> groups;
};

const std::vector<SummaryForm>& Forms() {
  static const std::vector<SummaryForm> forms = [] {
    std::vector<SummaryForm> list;
    auto add = [&](std::string_view marker, const char* pattern, std::vector<int> groups) {
      list.push_back({marker, std::regex(pattern), std::move(groups)});
    };
    add("Ran ", "^Ran ([0-9]+) tests? in ", {1});
    add("test result:", "test result: \\w+\\. ([0-9]+) passed; ([0-9]+) failed", {1, 2});
    add("Tests:", "^Tests:.* ([0-9]+) total", {1});
    add("out of", "tests? passed, [0-9]+ tests? failed out of ([0-9]+)", {1});
    add("--- ", "^\\s*--- (PASS|FAIL): ", {});
    // go test without -v: a line per package that had tests.
    add("\t", "^(ok|FAIL)\\s+\\S+\\s+([0-9.]+s|\\(cached\\))", {});
    add("passing", "^\\s*([0-9]+) passing", {1});
    add("failing", "^\\s*([0-9]+) failing", {1});
    add("tests ", "^(#|ℹ) tests ([0-9]+)$", {2});
    add("Tests run:", "^(\\[\\w+\\] )?Tests run: ([0-9]+), Failures", {2});
    return list;
  }();
  return forms;
}

// pytest's last line: "==== 3 passed, 1 failed, 2 skipped in 0.12s ====" (or without rules).
std::optional<int> PytestSummary(std::string_view line) {
  static const std::regex kLine("^=*\\s*(([0-9]+ \\w+,? ?)+) in [0-9.]+s");
  static const std::regex kPart("([0-9]+) (passed|failed|errors?|xfailed|xpassed)");
  std::string text(line);
  std::smatch match;
  if (!std::regex_search(text, match, kLine)) return std::nullopt;
  std::string parts = match[1].str();
  int total = 0;
  bool any = false;
  for (auto it = std::sregex_iterator(parts.begin(), parts.end(), kPart);
       it != std::sregex_iterator(); ++it) {
    total += std::stoi((*it)[1].str());
    any = true;
  }
  return any ? std::optional<int>(total) : std::nullopt;
}

}  // namespace

std::optional<int> CountTestsRun(std::string_view output) {
  std::optional<int> total;
  auto add = [&](int n) { total = total.value_or(0) + n; };
  // Maven prints a "Tests run:" line per class and then one for the whole module: the
  // module's ("Results:" before it) is the one that counts, when there is one.
  std::optional<int> maven_module;
  bool maven_results = false;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    std::string_view view = output.substr(start, end - start);
    start = end + 1;
    if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
    if (view.size() > 400) continue;  // Not a summary line.
    if (view.find("Results:") != std::string_view::npos) maven_results = true;
    if (view.find(" in ") != std::string_view::npos) {
      if (auto n = PytestSummary(view)) {
        add(*n);
        continue;
      }
    }
    std::string line(view);
    for (const auto& form : Forms()) {
      if (line.find(form.marker) == std::string::npos) continue;
      std::smatch match;
      if (!std::regex_search(line, match, form.pattern)) continue;
      int n = form.groups.empty() ? 1 : 0;
      for (int g : form.groups) n += std::stoi(match[g].str());
      if (form.marker == "Tests run:") {
        if (maven_results)
          maven_module = maven_module.value_or(0) + n;
        else
          add(n);
      } else {
        add(n);
      }
      break;
    }
  }
  if (maven_module) return maven_module;
  return total;
}

std::vector<std::string> MissingTestEvidence(const VerifierReport& baseline,
                                             const VerifierReport& final_report,
                                             bool fewer_allowed) {
  std::vector<std::string> missing;
  for (const auto& before : baseline.results) {
    if (!before.tests_run || *before.tests_run == 0) continue;
    for (const auto& after : final_report.results) {
      if (after.name != before.name) continue;
      int now = after.tests_run.value_or(0);
      if (now == 0 || (!fewer_allowed && now < *before.tests_run)) {
        missing.push_back(
            after.name + ": the baseline ran " + std::to_string(*before.tests_run) +
            (*before.tests_run == 1 ? " test" : " tests") + ", the final check " +
            (after.tests_run ? std::to_string(now) : std::string("none it could read")));
      }
    }
  }
  return missing;
}

}  // namespace drover::verifiers
