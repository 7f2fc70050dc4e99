#include "verifiers/verifier.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "core/fs.h"
#include "verifiers/distill.h"

namespace drover::verifiers {
namespace {

std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool LooksLikeError(std::string_view line) {
  static constexpr std::string_view kMarkers[] = {
      "error",  "Error",     "ERROR",      "FAIL",       "fail:",    "failed",
      "Failed", "Traceback", "Exception",  "assert",     "Assert",   "panic:",
      "undefined reference", "not found", "No such file", "expected", "Expected"};
  return std::any_of(std::begin(kMarkers), std::end(kMarkers),
                     [&](std::string_view m) { return line.find(m) != std::string_view::npos; });
}

// LooksLikeError, and what a missing tool or dependency says besides.
bool LooksLikeCause(std::string_view line) {
  static constexpr std::string_view kMarkers[] = {"No module named", "cannot", "Cannot", "fatal",
                                                  "Fatal", "denied", "Segmentation fault"};
  return LooksLikeError(line) ||
         std::any_of(std::begin(kMarkers), std::end(kMarkers),
                     [&](std::string_view m) { return line.find(m) != std::string_view::npos; });
}

std::string_view TrimLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

// A build tool's own line about a step that failed, which repeats an exit status and names
// no cause.
bool IsFailureEcho(std::string_view line) {
  auto ends_with_status = [](std::string_view text, std::string_view word) {
    size_t at = text.rfind(word);
    if (at == std::string_view::npos) return false;
    std::string_view rest = text.substr(at + word.size());
    if (rest.ends_with(" (ignored)")) rest.remove_suffix(10);
    return !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos;
  };
  bool make = line.starts_with("make") || line.starts_with("gmake");
  if (make && line.find("***") != std::string_view::npos &&
      (ends_with_status(line, "Error ") || line.ends_with("Waiting for unfinished jobs...."))) {
    return true;
  }
  if (line.find("recipe for target") != std::string_view::npos && line.ends_with("failed")) {
    return true;
  }
  static constexpr std::string_view kPrefixes[] = {
      "npm ERR!", "npm error", "error Command failed with exit code", "ELIFECYCLE",
      "ERR_PNPM_", "FAILED: ", "ninja: build stopped", "Errors while running CTest",
      "The following tests FAILED", "FAIL\t", "Error: Process completed with exit code",
      "error: Recipe `", "Command exited with non-zero status"};
  for (std::string_view prefix : kPrefixes) {
    if (line.starts_with(prefix)) return true;
  }
  if (line == "FAIL" || line.starts_with("exit status ")) return true;
  return false;
}

std::string CutLine(std::string_view line) {
  constexpr size_t kMax = 200;
  if (line.size() <= kMax) return std::string(line);
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return std::string(line.substr(0, cut)) + "...";
}

}  // namespace

std::string FirstErrorLine(std::string_view output, const std::vector<Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) {
    if (d.kind == DiagnosticKind::kCompileWarning || d.kind == DiagnosticKind::kOther) continue;
    std::string where = d.file;
    if (!where.empty() && d.line > 0) where += ":" + std::to_string(d.line);
    if (!d.test.empty()) where += (where.empty() ? "" : " ") + d.test;
    std::string message(TrimLine(d.message.substr(0, d.message.find('\n'))));
    if (message.empty() && where.empty()) continue;
    return CutLine(where.empty() ? message : message.empty() ? where : where + ": " + message);
  }
  auto lines = SplitLines(output);
  std::string_view echo;
  std::string_view last;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = TrimLine(lines[i]);
    if (line.empty()) continue;
    last = line;
    if (line.starts_with("Traceback (most recent call last)")) {
      // The exception is the first line after the frames that is not indented.
      for (size_t j = i + 1; j < lines.size(); ++j) {
        std::string_view next = lines[j];
        if (next.empty() || next.front() == ' ' || next.front() == '\t') continue;
        return CutLine(TrimLine(next));
      }
      continue;
    }
    if (!LooksLikeCause(line)) continue;
    if (IsFailureEcho(line)) {
      if (echo.empty()) echo = line;
      continue;
    }
    return CutLine(line);
  }
  return CutLine(!echo.empty() ? echo : last);
}

bool VerifierReport::passed() const {
  return !results.empty() &&
         std::all_of(results.begin(), results.end(), [](const auto& r) { return r.passed; });
}

std::string VerifierReport::Summary(bool with_times) const {
  std::string out;
  for (const auto& r : results) {
    if (!out.empty()) out += "; ";
    std::string verdict = r.flaky ? "passed on a second run (flaky)" : "passed";
    out += r.name + ": " + (r.passed ? verdict : "FAILED " + r.outcome);
    if (with_times) {
      out += " (" + Seconds(r.duration) + (r.evidence ? ", " + DescribeEvidence(r.evidence) : "") +
             ")";
    }
    if (!r.passed && !r.first_error.empty()) out += ": " + r.first_error;
  }
  return out.empty() ? "no verifiers" : out;
}

std::string VerifierReport::ForModel(size_t budget_bytes) const {
  std::string out =
      (passed() ? "All verifiers passed: " : "Verifiers failed: ") + Summary(false) + "\n";
  for (const auto& r : results) {
    if (r.passed) continue;
    std::string section = "\n## " + r.name + " (`" + r.command + "`): " + r.outcome + "\n" +
                          r.distilled + "\n";
    if (out.size() + section.size() > budget_bytes) {
      size_t room = budget_bytes > out.size() + 64 ? budget_bytes - out.size() - 64 : 0;
      out += section.substr(0, room) + "\n[... report truncated ...]\n";
      break;
    }
    out += section;
  }
  return out;
}

Json VerifierReport::ToJson() const {
  Json list = Json::array();
  for (const auto& r : results) {
    Json diagnostics = Json::array();
    for (const auto& d : r.diagnostics) {
      diagnostics.push_back({{"kind", DiagnosticKindName(d.kind)},
                             {"file", d.file},
                             {"line", d.line},
                             {"column", d.column},
                             {"message", d.message},
                             {"test", d.test}});
    }
    list.push_back({{"name", r.name},
                    {"command", r.command},
                    {"passed", r.passed},
                    {"flaky", r.flaky},
                    {"outcome", r.outcome},
                    {"duration_ms", r.duration.count()},
                    {"distilled", r.distilled},
                    {"first_error", r.first_error},
                    {"diagnostics", std::move(diagnostics)}});
    if (r.evidence) list.back()["tests"] = verifiers::ToJson(*r.evidence);
  }
  return Json{{"passed", passed()}, {"summary", Summary()}, {"results", list}};
}

Result<VerifierReport> VerifierReportFromJson(const Json& json) {
  VerifierReport report;
  try {
    for (const auto& r : json.at("results")) {
      VerifierResult result;
      result.name = r.at("name").get<std::string>();
      result.command = r.value("command", "");
      result.passed = r.at("passed").get<bool>();
      result.flaky = r.value("flaky", false);
      result.outcome = r.value("outcome", "");
      result.duration = std::chrono::milliseconds(r.value("duration_ms", int64_t{0}));
      result.distilled = r.value("distilled", "");
      result.first_error = r.value("first_error", "");
      for (const auto& d : r.value("diagnostics", Json::array())) {
        Diagnostic diagnostic;
        std::string kind = d.value("kind", "other");
        for (auto k : {DiagnosticKind::kCompileError, DiagnosticKind::kCompileWarning,
                       DiagnosticKind::kTestFailure, DiagnosticKind::kLintError}) {
          if (DiagnosticKindName(k) == kind) diagnostic.kind = k;
        }
        diagnostic.file = d.value("file", "");
        diagnostic.line = d.value("line", 0);
        diagnostic.column = d.value("column", 0);
        diagnostic.message = d.value("message", "");
        diagnostic.test = d.value("test", "");
        result.diagnostics.push_back(std::move(diagnostic));
      }
      if (auto tests = r.find("tests"); tests != r.end()) {
        result.evidence = TestEvidenceFromJson(*tests);
        if (!result.evidence) return Fail(ErrorCode::kParse, "verifier report: bad 'tests'");
      }
      report.results.push_back(std::move(result));
    }
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kParse, std::string("verifier report: ") + e.what());
  }
  return report;
}

std::string_view JudgeModeName(JudgeMode mode) {
  return mode == JudgeMode::kAllGreen ? "all_green" : "no_new_failures";
}

std::vector<std::string> FailureKeys(const VerifierResult& result) {
  std::vector<std::string> keys;
  if (result.passed || result.flaky) return keys;
  for (const auto& d : result.diagnostics) {
    if (d.kind == DiagnosticKind::kCompileWarning) continue;  // Warnings never fail a run.
    std::string message;
    for (char c : d.message.substr(0, 200)) {
      if (c < '0' || c > '9') message += c;
    }
    keys.push_back(result.name + ": " + std::string(DiagnosticKindName(d.kind)) + " " + d.file +
                   (d.test.empty() ? "" : " " + d.test) + ": " + message);
  }
  if (keys.empty()) keys.push_back(result.name + ": failed (" + result.outcome + ")");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::vector<std::string> NewFailures(const VerifierReport& baseline,
                                     const VerifierReport& current) {
  std::vector<std::string> before;
  for (const auto& r : baseline.results) {
    auto keys = FailureKeys(r);
    before.insert(before.end(), keys.begin(), keys.end());
  }
  std::sort(before.begin(), before.end());
  std::vector<std::string> found;
  for (const auto& r : current.results) {
    for (auto& key : FailureKeys(r)) {
      if (!std::binary_search(before.begin(), before.end(), key)) found.push_back(std::move(key));
    }
  }
  return found;
}

bool Acceptable(JudgeMode mode, const VerifierReport* baseline, const VerifierReport& current) {
  if (mode == JudgeMode::kAllGreen || baseline == nullptr) return current.passed();
  return !current.results.empty() && NewFailures(*baseline, current).empty();
}

std::vector<std::string> MissingTestRuns(const std::vector<VerifierSpec>& specs,
                                         const VerifierReport& baseline,
                                         const VerifierReport& current, bool fewer_allowed) {
  auto find = [](const VerifierReport& report, const std::string& name) -> const VerifierResult* {
    for (const auto& r : report.results) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };
  std::vector<std::string> missing;
  for (const auto& spec : specs) {
    if (spec.require_test_evidence == false) continue;
    const VerifierResult* before = find(baseline, spec.name);
    const VerifierResult* after = find(current, spec.name);
    std::optional<TestEvidence> now = after ? after->evidence : std::nullopt;
    if (before != nullptr && before->evidence) {
      if (fewer_allowed && now) continue;
      for (const auto& reason : EvidenceShortfall(*before->evidence, now)) {
        missing.push_back(spec.name + ": " + reason);
      }
    } else if (spec.require_test_evidence == true && !now) {
      missing.push_back(spec.name +
                        ": the output shows no test run (the check requires test evidence)");
    }
  }
  return missing;
}

Json ToJson(const VerifierSpec& spec) {
  Json json{
      {"name", spec.name}, {"command", spec.command}, {"timeout_seconds", spec.timeout.count()}};
  if (spec.require_test_evidence) json["require_test_evidence"] = *spec.require_test_evidence;
  return json;
}

Result<VerifierSpec> VerifierSpecFromJson(const Json& json) {
  if (!json.is_object()) return Fail(ErrorCode::kInvalidArgument, "verifier: expected an object");
  VerifierSpec spec;
  auto name = json.find("name");
  if (name == json.end() || !name->is_string() || name->get<std::string>().empty()) {
    return Fail(ErrorCode::kInvalidArgument, "verifier: missing string field 'name'");
  }
  spec.name = name->get<std::string>();
  auto command = json.find("command");
  if (command == json.end() || !command->is_string() || command->get<std::string>().empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "verifier '" + spec.name + "': missing string field 'command'");
  }
  spec.command = command->get<std::string>();
  if (auto t = json.find("timeout_seconds"); t != json.end()) {
    if (!t->is_number_integer() || t->get<int64_t>() <= 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "verifier '" + spec.name + "': timeout_seconds must be a positive integer");
    }
    spec.timeout = std::chrono::seconds(t->get<int64_t>());
  }
  if (auto r = json.find("require_test_evidence"); r != json.end()) {
    if (!r->is_boolean()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "verifier '" + spec.name + "': require_test_evidence must be true or false");
    }
    spec.require_test_evidence = r->get<bool>();
  }
  return spec;
}

namespace {

// Calls `each` with the text of every JUnit XML report under `workspace`'s usual report
// directories modified at or after `since` (see ReadJunitReports), one file at a time.
template <typename F>
void ForEachJunitReport(const std::filesystem::path& workspace,
                        std::filesystem::file_time_type since, F each) {
  namespace fs = std::filesystem;
  constexpr size_t kMaxFiles = 200;
  size_t files = 0;
  std::vector<fs::path> dirs = {workspace / "target/surefire-reports",
                                workspace / "target/failsafe-reports"};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(workspace / "build/test-results", ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) dirs.push_back(entry.path());
  }
  for (const auto& dir : dirs) {
    if (fs::is_symlink(dir, ec) || !fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (!name.starts_with("TEST-") || !name.ends_with(".xml")) continue;
      if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
      if (fs::last_write_time(entry.path(), ec) < since || ec) continue;  // An older run's.
      auto text = ReadRegularFile(entry.path(), 4 << 20);
      if (text) each(std::move(*text));
      if (++files >= kMaxFiles) return;
    }
  }
}

}  // namespace

std::vector<std::string> ReadJunitReports(const std::filesystem::path& workspace,
                                          std::filesystem::file_time_type since) {
  std::vector<std::string> texts;
  ForEachJunitReport(workspace, since, [&](std::string text) { texts.push_back(std::move(text)); });
  return texts;
}

namespace {

bool IsPathByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == '~' || c == '+' || c == '@';
}

}  // namespace

std::string RewriteHostPaths(std::string_view text, const std::vector<PathAlias>& aliases) {
  // Each root as given and resolved, without a trailing '/', longest first.
  std::vector<std::pair<std::string, std::string>> roots;
  for (const auto& alias : aliases) {
    if (alias.path.empty() || !alias.path.is_absolute()) continue;
    std::error_code ec;
    for (std::filesystem::path form :
         {alias.path.lexically_normal(), std::filesystem::weakly_canonical(alias.path, ec)}) {
      std::string root = form.string();
      while (root.size() > 1 && root.back() == '/') root.pop_back();
      if (root.size() > 1) roots.emplace_back(root, alias.shown_as);
    }
  }
  std::sort(roots.begin(), roots.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  if (roots.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (text[i] == '/' && (i == 0 || !IsPathByte(text[i - 1]))) {
      for (const auto& [root, shown] : roots) {
        if (text.compare(i, root.size(), root) != 0) continue;
        size_t end = i + root.size();
        if (end < text.size() && text[end] == '/') {
          // "ROOT/a.c": relative, or under the label.
          out += shown.empty() ? "" : shown + "/";
          i = end + 1;
        } else if (end == text.size() || !IsPathByte(text[end]) ||
                   (text[end] == '.' && (end + 1 == text.size() || !IsPathByte(text[end + 1])))) {
          out += shown.empty() ? "." : shown;
          i = end;
        } else {
          continue;  // "ROOT2" or "ROOT.d": another path.
        }
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

VerifierReport RunVerifiers(sandbox::ProcessRunner& runner, const std::vector<VerifierSpec>& specs,
                            const std::filesystem::path& workspace,
                            const std::map<std::string, std::string>& env,
                            const std::optional<std::filesystem::path>& log_dir,
                            const std::string& log_prefix,
                            const std::vector<PathAlias>& hidden_paths) {
  VerifierReport report;
  if (log_dir) (void)CreateDirectories(*log_dir);
  std::vector<PathAlias> aliases = hidden_paths;
  aliases.push_back({std::filesystem::absolute(workspace), ""});
  for (const auto& spec : specs) {
    // A second earlier: file times can be coarser than the clock.
    auto started = std::filesystem::file_time_type::clock::now() - std::chrono::seconds(1);
    VerifierResult result;
    result.name = spec.name;
    result.command = spec.command;
    sandbox::ProcessSpec process;
    process.argv = {"/bin/sh", "-c", spec.command};
    process.cwd = workspace;
    process.env = env;
    process.timeout = spec.timeout;
    process.max_output_bytes = 256 * 1024;
    if (log_dir) process.log_file = *log_dir / (log_prefix + spec.name + ".log");
    auto ran = runner.Run(process);
    if (!ran) {
      result.passed = false;
      result.outcome = "could not start: " + RewriteHostPaths(ran.error().message, aliases);
      result.distilled = result.outcome;
    } else {
      result.passed = ran->ok();
      result.outcome = ran->Describe();
      result.duration = ran->duration;
      // The one place host paths leave the output: everything below reads the rewritten text.
      size_t raw_size = ran->output.size();
      result.output = RewriteHostPaths(ran->output, aliases);
      // Test evidence, passing or not: reports are read one at a time and only their
      // counts and names are kept.
      std::optional<TestEvidence> report_evidence;
      ForEachJunitReport(workspace, started, [&](std::string text) {
        auto read = ReadTestEvidence("", {text});
        if (!read) return;
        if (!report_evidence) {
          report_evidence = std::move(read);
          return;
        }
        report_evidence->ran += read->ran;
        report_evidence->names.insert(report_evidence->names.end(), read->names.begin(),
                                      read->names.end());
      });
      result.evidence = ReadTestEvidence(result.output, {}, ran->output_bytes <= raw_size);
      if (report_evidence) {
        std::sort(report_evidence->names.begin(), report_evidence->names.end());
        report_evidence->names.erase(
            std::unique(report_evidence->names.begin(), report_evidence->names.end()),
            report_evidence->names.end());
        if (result.evidence) {
          // Console and reports describe the same run differently: the larger count
          // stands, and the names of whichever can be compared.
          auto& e = *result.evidence;
          e.formats += "+" + report_evidence->formats;
          if (report_evidence->ran > e.ran || !e.names_complete) {
            e.ran = std::max(e.ran, report_evidence->ran);
            e.names = std::move(report_evidence->names);
            e.names_complete = true;
          }
        } else {
          result.evidence = std::move(report_evidence);
        }
      }
      if (!result.passed) {
        Distilled distilled = DistillOutput(result.output);
        bool from_reports = false;
        if (distilled.diagnostics.empty()) {
          // Surefire and Gradle say little on the console; their reports say it all.
          auto reports = ReadJunitReports(workspace, started);
          for (auto& text : reports) text = RewriteHostPaths(text, aliases);
          auto junit = ParseJunitReports(reports);
          if (!junit.empty()) {
            distilled.diagnostics = std::move(junit);
            distilled.parser = "junit_xml";
            distilled.summary =
                std::to_string(distilled.diagnostics.size()) + " test failure(s) (JUnit reports)";
            from_reports = true;
          }
        }
        std::string digest = Render(distilled);
        result.first_error = FirstErrorLine(result.output, distilled.diagnostics);
        result.diagnostics = std::move(distilled.diagnostics);
        // A log shorter than its digest is clearer as it is, unless the digest comes from
        // the reports, which the log does not show.
        result.distilled = from_reports || digest.size() < result.output.size() ? std::move(digest)
                                                                                : result.output;
      }
    }
    report.results.push_back(std::move(result));
  }
  return report;
}

std::string Distill(std::string_view output, size_t budget_bytes) {
  auto lines = SplitLines(output);
  if (output.size() <= budget_bytes) return std::string(output);
  // Tail first: test runners print their verdicts last. Then error lines with one line of
  // context before, in order, until the budget is spent.
  constexpr size_t kTailLines = 15;
  size_t tail_start = lines.size() > kTailLines ? lines.size() - kTailLines : 0;
  std::string tail;
  for (size_t i = tail_start; i < lines.size(); ++i) {
    tail += std::string(lines[i].substr(0, 300)) + "\n";
  }
  std::string head;
  size_t head_budget = budget_bytes > tail.size() + 64 ? budget_bytes - tail.size() - 64 : 0;
  std::vector<bool> taken(lines.size(), false);
  for (size_t i = 0; i < tail_start && head.size() < head_budget; ++i) {
    if (!LooksLikeError(lines[i])) continue;
    for (size_t j = (i > 0 ? i - 1 : 0); j <= i; ++j) {
      if (taken[j]) continue;
      taken[j] = true;
      std::string line = std::string(lines[j].substr(0, 300)) + "\n";
      if (head.size() + line.size() > head_budget) break;
      head += line;
    }
  }
  std::string out;
  if (!head.empty()) out += head + "[...]\n";
  out += tail;
  if (out.size() > budget_bytes) out = out.substr(out.size() - budget_bytes);
  return out;
}

}  // namespace drover::verifiers
