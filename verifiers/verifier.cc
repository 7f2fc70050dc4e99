#include "verifiers/verifier.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

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

}  // namespace

bool VerifierReport::passed() const {
  return !results.empty() &&
         std::all_of(results.begin(), results.end(), [](const auto& r) { return r.passed; });
}

std::string VerifierReport::Summary() const {
  std::string out;
  for (const auto& r : results) {
    if (!out.empty()) out += "; ";
    out += r.name + ": " + (r.passed ? "passed" : "FAILED " + r.outcome) + " (" +
           Seconds(r.duration) + ")";
  }
  return out.empty() ? "no verifiers" : out;
}

std::string VerifierReport::ForModel(size_t budget_bytes) const {
  std::string out = (passed() ? "All verifiers passed: " : "Verifiers failed: ") + Summary() + "\n";
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
    list.push_back({{"name", r.name},
                    {"command", r.command},
                    {"passed", r.passed},
                    {"outcome", r.outcome},
                    {"duration_ms", r.duration.count()},
                    {"distilled", r.distilled}});
  }
  return Json{{"passed", passed()}, {"summary", Summary()}, {"results", list}};
}

Json ToJson(const VerifierSpec& spec) {
  return Json{{"name", spec.name}, {"command", spec.command},
              {"timeout_seconds", spec.timeout.count()}};
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
  return spec;
}

VerifierReport RunVerifiers(sandbox::ProcessRunner& runner, const std::vector<VerifierSpec>& specs,
                            const std::filesystem::path& workspace,
                            const std::map<std::string, std::string>& env) {
  VerifierReport report;
  for (const auto& spec : specs) {
    VerifierResult result;
    result.name = spec.name;
    result.command = spec.command;
    sandbox::ProcessSpec process;
    process.argv = {"/bin/sh", "-c", spec.command};
    process.cwd = workspace;
    process.env = env;
    process.timeout = spec.timeout;
    process.max_output_bytes = 256 * 1024;
    auto ran = runner.Run(process);
    if (!ran) {
      result.passed = false;
      result.outcome = "could not start: " + ran.error().message;
      result.distilled = result.outcome;
    } else {
      result.passed = ran->ok();
      result.outcome = ran->Describe();
      result.duration = ran->duration;
      result.output = std::move(ran->output);
      if (!result.passed) {
        // A log shorter than its digest is clearer as it is.
        std::string digest = Render(DistillOutput(result.output));
        result.distilled = digest.size() < result.output.size() ? std::move(digest) : result.output;
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
