#include "evals/results.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/fs.h"
#include "evals/stats.h"

namespace drover::evals {
namespace {

// Six decimals: enough for rates and dollars, and the same text on every machine.
double Round(double value) {
  return std::round(value * 1e6) / 1e6;
}

std::string Percent(double rate) {
  char text[16];
  std::snprintf(text, sizeof text, "%.0f%%", rate * 100);
  return text;
}

std::string Dollars(double cost) {
  char text[32];
  std::snprintf(text, sizeof text, "$%.4f", cost);
  return text;
}

struct Totals {
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  std::optional<double> cost_usd = 0.0;  // nullopt once a run has no price.
  int turns = 0;
  double wall_seconds = 0;

  void Add(const RunResult& run) {
    input_tokens += run.input_tokens;
    cached_input_tokens += run.cached_input_tokens;
    output_tokens += run.output_tokens;
    cost_usd = cost_usd && run.cost_usd ? std::optional(*cost_usd + *run.cost_usd) : std::nullopt;
    turns += run.turns;
    wall_seconds += run.wall_seconds;
  }

  Json ToJson() const {
    return {{"input_tokens", input_tokens},
            {"cached_input_tokens", cached_input_tokens},
            {"output_tokens", output_tokens},
            {"cost_usd", cost_usd ? Json(Round(*cost_usd)) : Json(nullptr)},
            {"turns", turns},
            {"wall_seconds", Round(wall_seconds)}};
  }
};

Json RateJson(int successes, int scored, double pass_at_k) {
  Interval wilson = Wilson(successes, scored);
  double rate = scored > 0 ? static_cast<double>(successes) / scored : 0;
  return {{"successes", successes},
          {"scored_runs", scored},
          {"success_rate", Round(rate)},
          {"wilson_low", Round(wilson.low)},
          {"wilson_high", Round(wilson.high)},
          {"pass_at_k", Round(pass_at_k)}};
}

Json RunJson(const RunResult& run) {
  return {{"attempt", run.attempt},
          {"outcome", run.outcome},
          {"category", run.category},
          {"reason", run.reason},
          {"input_tokens", run.input_tokens},
          {"cached_input_tokens", run.cached_input_tokens},
          {"output_tokens", run.output_tokens},
          {"cost_usd", run.cost_usd ? Json(Round(*run.cost_usd)) : Json(nullptr)},
          {"turns", run.turns},
          {"reran", run.reran},
          {"wall_seconds", Round(run.wall_seconds)}};
}

// The positive tasks' pooled figures.
struct Overall {
  int successes = 0;
  int scored = 0;
  double pass_at_k = 0;
  int positive_tasks = 0;
};

Overall OverallOf(const SuiteResult& result) {
  Overall overall;
  for (const auto& task : result.tasks) {
    if (!task.expect_success) continue;
    overall.successes += task.Successes();
    overall.scored += task.Scored();
    overall.pass_at_k += PassAtK(task.Scored(), task.Successes(), result.attempts);
    overall.positive_tasks++;
  }
  if (overall.positive_tasks > 0) overall.pass_at_k /= overall.positive_tasks;
  return overall;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Cell(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

int TaskResult::Successes() const {
  return static_cast<int>(std::count_if(runs.begin(), runs.end(),
                                        [](const auto& r) { return r.category == "success"; }));
}

int TaskResult::Infrastructure() const {
  return static_cast<int>(std::count_if(
      runs.begin(), runs.end(), [](const auto& r) { return r.category == "infrastructure"; }));
}

double TaskResult::SuccessRate() const {
  return Scored() > 0 ? static_cast<double>(Successes()) / Scored() : 0;
}

bool TaskResult::AsExpected() const {
  if (!expect_success) return Successes() == 0;
  return Scored() > 0 && Successes() == Scored();
}

Json ToJson(const SuiteResult& result) {
  Json tasks = Json::array();
  Totals all;
  std::map<std::string, int> categories;
  for (auto name : kCategories) categories[std::string(name)] = 0;
  int negatives = 0, negatives_succeeded = 0;
  for (const auto& task : result.tasks) {
    Totals totals;
    Json runs = Json::array();
    for (const auto& run : task.runs) {
      runs.push_back(RunJson(run));
      totals.Add(run);
      all.Add(run);
      categories[run.category]++;
    }
    Json entry = {{"id", task.id},
                  {"language", task.language},
                  {"tags", task.tags},
                  {"expect", task.expect_success ? "success" : "failure"},
                  {"runs", runs},
                  {"infrastructure_failures", task.Infrastructure()},
                  {"totals", totals.ToJson()}};
    entry.update(RateJson(task.Successes(), task.Scored(),
                          PassAtK(task.Scored(), task.Successes(), result.attempts)));
    tasks.push_back(std::move(entry));
    if (!task.expect_success) {
      negatives++;
      negatives_succeeded += task.Successes() > 0 ? 1 : 0;
    }
  }
  Overall overall = OverallOf(result);
  Json summary = RateJson(overall.successes, overall.scored, overall.pass_at_k);
  summary["tasks"] = overall.positive_tasks;
  summary["negative_controls"] = negatives;
  summary["negative_controls_scored_success"] = negatives_succeeded;
  summary["categories"] = categories;
  summary["totals"] = all.ToJson();
  return {{"schema_version", kResultsSchemaVersion},
          {"suite", result.suite},
          {"model", result.model},
          {"replayed", result.replayed},
          {"attempts", result.attempts},
          {"price_note", result.price_note},
          {"overall", summary},
          {"tasks", tasks}};
}

Result<SuiteResult> SuiteResultFromJson(const Json& json, const std::string& name) {
  auto bad = [&](const std::string& what) { return Fail(ErrorCode::kParse, name + ": " + what); };
  if (!json.is_object()) return bad("expected a results object");
  if (json.value("schema_version", 0) != kResultsSchemaVersion) {
    return bad("schema_version: expected " + std::to_string(kResultsSchemaVersion));
  }
  try {
    SuiteResult result;
    result.suite = json.at("suite").get<std::string>();
    result.model = json.at("model").get<std::string>();
    result.replayed = json.at("replayed").get<bool>();
    result.attempts = json.at("attempts").get<int>();
    result.price_note = json.value("price_note", "");
    for (const auto& entry : json.at("tasks")) {
      TaskResult task;
      task.id = entry.at("id").get<std::string>();
      task.language = entry.at("language").get<std::string>();
      task.tags = entry.at("tags").get<std::vector<std::string>>();
      task.expect_success = entry.at("expect").get<std::string>() != "failure";
      for (const auto& r : entry.at("runs")) {
        RunResult run;
        run.attempt = r.at("attempt").get<int>();
        run.outcome = r.at("outcome").get<std::string>();
        run.category = r.at("category").get<std::string>();
        if (std::find(std::begin(kCategories), std::end(kCategories), run.category) ==
            std::end(kCategories)) {
          return bad("task " + task.id + ": unknown category '" + run.category + "'");
        }
        run.reason = r.value("reason", "");
        run.input_tokens = r.value("input_tokens", int64_t{0});
        run.cached_input_tokens = r.value("cached_input_tokens", int64_t{0});
        run.output_tokens = r.value("output_tokens", int64_t{0});
        if (r.contains("cost_usd") && r["cost_usd"].is_number()) {
          run.cost_usd = r["cost_usd"].get<double>();
        }
        run.turns = r.value("turns", 0);
        run.reran = r.value("reran", false);
        run.wall_seconds = r.value("wall_seconds", 0.0);
        task.runs.push_back(std::move(run));
      }
      result.tasks.push_back(std::move(task));
    }
    return result;
  } catch (const Json::exception& e) {
    return bad(e.what());
  }
}

Result<SuiteResult> LoadSuiteResult(const std::filesystem::path& file) {
  auto text = ReadFile(file);
  if (!text) return Fail(text.error());
  auto json = ParseJson(*text, file.string());
  if (!json) return Fail(json.error());
  return SuiteResultFromJson(*json, file.string());
}

std::string RenderMarkdown(const SuiteResult& result) {
  std::string md = "# drover eval: " + result.suite + "\n\n";
  if (result.replayed) {
    md +=
        "> **Replayed model exchanges.** This is a regression test of the pipeline and the "
        "tools (git, sandbox, agent tools, verifiers, gate, hidden checks), not a model's "
        "success rate: every reply comes from a recorded cassette.\n\n";
  } else {
    md += "Model **" + result.model + "**, measured live.\n\n";
  }
  Overall overall = OverallOf(result);
  Interval wilson = Wilson(overall.successes, overall.scored);
  char line[256];
  std::snprintf(line, sizeof line,
                "%d tasks, %d run(s) each. Success: %d of %d scored runs, %s (95%% Wilson "
                "interval %s to %s); pass@%d %s.\n\n",
                overall.positive_tasks, result.attempts, overall.successes, overall.scored,
                Percent(overall.scored ? double(overall.successes) / overall.scored : 0).c_str(),
                Percent(wilson.low).c_str(), Percent(wilson.high).c_str(), result.attempts,
                Percent(overall.pass_at_k).c_str());
  md += line;
  if (!result.price_note.empty()) md += "Cost: " + result.price_note + "\n\n";
  md +=
      "| task | expect | successes | rate | 95% interval | pass@k | tokens in (cached) / out "
      "| cost | turns | failures |\n";
  md += "|---|---|---:|---:|---|---:|---:|---:|---:|---|\n";
  std::map<std::string, int> categories;
  int infrastructure = 0;
  for (const auto& task : result.tasks) {
    Totals totals;
    std::map<std::string, int> failures;
    for (const auto& run : task.runs) {
      totals.Add(run);
      categories[run.category]++;
      if (run.category != "success") failures[run.category]++;
    }
    infrastructure += task.Infrastructure();
    std::string failure_text;
    for (const auto& [name, count] : failures) {
      failure_text += (failure_text.empty() ? "" : ", ") + name + " ×" + std::to_string(count);
    }
    Interval interval = Wilson(task.Successes(), task.Scored());
    md += "| " + Cell(task.id) + " | " + (task.expect_success ? "success" : "**failure**") + " | " +
          std::to_string(task.Successes()) + "/" + std::to_string(task.Scored()) + " | " +
          Percent(task.SuccessRate()) + " | " + Percent(interval.low) + "–" +
          Percent(interval.high) + " | " +
          Percent(PassAtK(task.Scored(), task.Successes(), result.attempts)) + " | " +
          std::to_string(totals.input_tokens) + " (" + std::to_string(totals.cached_input_tokens) +
          ") / " + std::to_string(totals.output_tokens) + " | " +
          (totals.cost_usd ? Dollars(*totals.cost_usd) : "-") + " | " +
          std::to_string(totals.turns) + " | " + Cell(failure_text) + " |\n";
  }
  md += "\n## Outcomes\n\n| category | runs |\n|---|---:|\n";
  for (auto name : kCategories) {
    md += "| " + std::string(name) + " | " + std::to_string(categories[std::string(name)]) + " |\n";
  }
  if (infrastructure > 0) {
    md += "\n" + std::to_string(infrastructure) +
          " run(s) failed for infrastructure reasons (after one re-run); they are not counted "
          "in any rate.\n";
  }
  md += "\n## Negative controls\n\n";
  bool any = false;
  for (const auto& task : result.tasks) {
    if (task.expect_success) continue;
    any = true;
    md += "- " + task.id + ": " +
          (task.Successes() == 0 ? "scored a failure, as it must"
                                 : "**scored a success: the harness or the gate let a wrong "
                                   "change through**") +
          "\n";
  }
  if (!any) md += "None in this suite.\n";
  md += "\n## Failed runs\n\n";
  any = false;
  for (const auto& task : result.tasks) {
    for (const auto& run : task.runs) {
      if (run.category == "success") continue;
      any = true;
      md += "- " + task.id + " #" + std::to_string(run.attempt) + ": " + run.category +
            (run.reason.empty() ? "" : " (" + Cell(run.reason) + ")") + "\n";
    }
  }
  if (!any) md += "None.\n";
  return md;
}

std::string RenderJunit(const SuiteResult& result) {
  int failures = 0;
  for (const auto& task : result.tasks) failures += task.AsExpected() ? 0 : 1;
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuite name=\"drover-eval " + XmlEscape(result.suite) + "\" tests=\"" +
         std::to_string(result.tasks.size()) + "\" failures=\"" + std::to_string(failures) +
         "\">\n";
  for (const auto& task : result.tasks) {
    xml += "  <testcase classname=\"" + XmlEscape(task.language) + "\" name=\"" +
           XmlEscape(task.id) + "\">";
    if (!task.AsExpected()) {
      std::string message = task.expect_success
                                ? std::to_string(task.Successes()) + " of " +
                                      std::to_string(task.Scored()) + " scored runs succeeded"
                                : "negative control scored a success in " +
                                      std::to_string(task.Successes()) + " run(s)";
      std::string details;
      for (const auto& run : task.runs) {
        details += "run " + std::to_string(run.attempt) + ": " + run.category +
                   (run.reason.empty() ? "" : ": " + run.reason) + "\n";
      }
      xml += "\n    <failure message=\"" + XmlEscape(message) + "\">" + XmlEscape(details) +
             "</failure>\n  ";
    }
    xml += "</testcase>\n";
  }
  xml += "</testsuite>\n";
  return xml;
}

Comparison Compare(const SuiteResult& a, const SuiteResult& b) {
  std::map<std::string, const TaskResult*> before, after;
  for (const auto& task : a.tasks) before[task.id] = &task;
  for (const auto& task : b.tasks) after[task.id] = &task;
  std::set<std::string> ids;
  for (const auto& [id, task] : before) ids.insert(id);
  for (const auto& [id, task] : after) ids.insert(id);
  Comparison comparison;
  for (const auto& id : ids) {
    auto x = before.find(id);
    auto y = after.find(id);
    TaskChange change{id, std::nullopt, std::nullopt};
    if (x != before.end()) change.before = x->second->SuccessRate();
    if (y != after.end()) change.after = y->second->SuccessRate();
    if (change.before && change.after) {
      comparison.paired++;
      if (*change.after > *change.before) comparison.better++;
      if (*change.after < *change.before) comparison.worse++;
      if (*change.after == *change.before) continue;
    }
    comparison.changed.push_back(change);
  }
  comparison.p_value = SignTestP(comparison.better, comparison.worse);
  return comparison;
}

std::string RenderComparison(const Comparison& comparison, const std::string& a_name,
                             const std::string& b_name) {
  std::string text = "A: " + a_name + "\nB: " + b_name + "\n\n";
  if (comparison.changed.empty()) text += "No task changed its success rate.\n";
  for (const auto& change : comparison.changed) {
    text += "  " + change.id + ": " + (change.before ? Percent(*change.before) : "absent") +
            " -> " + (change.after ? Percent(*change.after) : "absent") + "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "\n%d tasks in both: %d better, %d worse, %d unchanged. Sign test (exact, "
                "two-sided; McNemar's for one run per task): p = %.4f.\n",
                comparison.paired, comparison.better, comparison.worse,
                comparison.paired - comparison.better - comparison.worse, comparison.p_value);
  text += line;
  text += comparison.significant()
              ? std::string("The difference is significant at 0.05: B is ") +
                    (comparison.better > comparison.worse ? "better" : "worse") + " than A.\n"
              : "The difference is not significant at 0.05.\n";
  return text;
}

std::vector<std::string> BaselineRegressions(const SuiteResult& baseline,
                                             const SuiteResult& current) {
  std::vector<std::string> problems;
  std::map<std::string, const TaskResult*> now;
  for (const auto& task : current.tasks) now[task.id] = &task;
  for (const auto& task : baseline.tasks) {
    auto it = now.find(task.id);
    if (it == now.end()) {
      problems.push_back(task.id + ": in the baseline but did not run");
      continue;
    }
    if (it->second->SuccessRate() < task.SuccessRate()) {
      problems.push_back(task.id + ": success rate dropped from " + Percent(task.SuccessRate()) +
                         " to " + Percent(it->second->SuccessRate()));
    }
  }
  for (const auto& task : current.tasks) {
    if (!task.expect_success && task.Successes() > 0) {
      problems.push_back(task.id + ": negative control scored a success");
    }
  }
  return problems;
}

}  // namespace drover::evals
